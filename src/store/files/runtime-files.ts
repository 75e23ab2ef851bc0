import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { RuntimePaths } from '../../config/index.js';
import { readJsonIfValid, removeDurable, writeFileAtomic } from '../../lib/fs.js';

const objectSchema = z.record(z.string(), z.unknown());

/**
 * The `runtime` group as `<CoreRoot>/runtime/dispatch.json`: one top-level field per key. A torn
 * or hand-broken file reads as empty, as the mirror always has.
 */
export function readRuntimeFile(paths: RuntimePaths): Record<string, unknown> {
  return { ...readJsonIfValid(paths.dispatch, objectSchema) };
}

/**
 * Writes the `runtime` group to dispatch.json durably, in the format the dispatcher's mirror has
 * always had (2-space JSON), so `loadRuntime` and the progress lines read it as before; an empty
 * group removes the file.
 */
export function writeRuntimeFile(paths: RuntimePaths, runtime: Record<string, unknown>): void {
  if (Object.keys(runtime).length === 0) removeDurable(paths.dispatch);
  else writeFileAtomic(paths.dispatch, `${JSON.stringify(runtime, null, 2)}\n`, { fsync: true });
}

/** The `runner` group's `frozen` key: true while `<CoreRoot>/runtime/frozen` exists. */
export function isFrozenFile(paths: RuntimePaths): boolean {
  return existsSync(paths.frozen);
}

/** Creates (with the time it froze) or removes the frozen file, durably. */
export function writeFrozenFile(paths: RuntimePaths, frozen: boolean, at: string): void {
  if (frozen) writeFileAtomic(paths.frozen, `${at}\n`, { fsync: true });
  else removeDurable(paths.frozen);
}
