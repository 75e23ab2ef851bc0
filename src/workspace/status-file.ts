import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  quarantineFile,
  readTextIfExists,
  writeFileAtomic,
  writeFileAtomicAsync,
} from '../lib/fs.js';
import { type StatusRecord } from './record.js';
import { KNOWN_STATUS_FIELDS, statusRecordSchema } from './record-schema.js';

/** Outcome of reading one status.json. */
export type StatusRead =
  | { kind: 'ok'; record: StatusRecord }
  | { kind: 'missing' }
  | { kind: 'corrupt'; movedTo: string; reason: string };

/** File name of a workspace's status mirror. */
export const STATUS_FILE = 'status.json';

/** Path of a workspace's status.json. */
export function statusPath(dir: string): string {
  return join(dir, STATUS_FILE);
}

/**
 * Reads a workspace's status.json. A file that is not valid JSON or not a status record is
 * renamed `status.json.corrupt-<UTC yyyymmddThhmmssZ>` and reported as corrupt, never dropped silently.
 */
export function readStatusFile(dir: string, now: Date = new Date()): StatusRead {
  const path = statusPath(dir);
  const text = readTextIfExists(path);
  if (text === undefined) return { kind: 'missing' };
  const record = parseStatusText(text);
  if (record.ok) return { kind: 'ok', record: record.value };
  return { kind: 'corrupt', movedTo: quarantineFile(path, now), reason: record.reason };
}

/** Parses status.json text; never throws. */
export function parseStatusText(
  text: string,
): { ok: true; value: StatusRecord } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = statusRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  return { ok: true, value: parsed.data };
}

/**
 * Writes status.json atomically (temp file + rename; fsync when `durable`). Known fields come
 * from `record`; unknown fields already on disk that the record lacks are preserved. The file's
 * mtime is marked from `updated_at` so a reader can tell by stat alone whether the file is still
 * this mirror (see {@link isCurrentMirror}).
 */
export function writeStatusFile(
  dir: string,
  record: StatusRecord,
  options: { durable: boolean },
): void {
  writeFileAtomic(...mirrorWrite(dir, record, options, readTextIfExists(statusPath(dir))));
}

/** Mirror writes still in flight in this process, by path. */
const inFlight = new Map<string, Promise<void>>();

/**
 * Writes the status.json mirrors of one transaction, in parallel and entirely on the thread
 * pool (see writeFileAtomicAsync): a rename over an existing file can wait for its data to be
 * flushed (ext4 does so), which in place would stall every other run this process serves.
 * Writes to one path from this process always land in call order.
 */
export async function writeStatusFiles(
  mirrors: ReadonlyArray<readonly [dir: string, record: StatusRecord]>,
  options: { durable: boolean },
): Promise<void> {
  await Promise.all(mirrors.map(([dir, record]) => writeQueued(dir, record, options)));
}

function writeQueued(
  dir: string,
  record: StatusRecord,
  options: { durable: boolean },
): Promise<void> {
  const path = statusPath(dir);
  // The text is made when the write starts, so it keeps the unknown fields the previous write left.
  const write = async (): Promise<void> => {
    const existing = await readFile(path, 'utf8').catch(() => undefined);
    await writeFileAtomicAsync(...mirrorWrite(dir, record, options, existing));
  };
  const previous = inFlight.get(path);
  const mine = previous ? previous.catch(() => undefined).then(write) : write();
  inFlight.set(path, mine);
  const forget = (): void => {
    if (inFlight.get(path) === mine) inFlight.delete(path);
  };
  mine.then(forget, forget);
  return mine;
}

/** Arguments of the atomic write of a mirror: path, text, and the fsync and mtime mark. */
function mirrorWrite(
  dir: string,
  record: StatusRecord,
  options: { durable: boolean },
  existing: string | undefined,
): [string, string, { fsync: boolean; mtime: number }] {
  const path = statusPath(dir);
  return [
    path,
    mirrorText(record, existing),
    { fsync: options.durable, mtime: mirrorMtimeSeconds(record.updated_at) },
  ];
}

/** The new file's text: the record, plus unknown fields of the file on disk that it lacks. */
function mirrorText(record: StatusRecord, existing: string | undefined): string {
  const merged: Record<string, unknown> = {};
  if (existing !== undefined) {
    try {
      const old: unknown = JSON.parse(existing);
      if (typeof old === 'object' && old !== null) {
        for (const [key, value] of Object.entries(old)) {
          if (!KNOWN_STATUS_FIELDS.has(key)) merged[key] = value;
        }
      }
    } catch {
      // An unreadable old file has nothing worth preserving; it is replaced.
    }
  }
  Object.assign(merged, record);
  return `${JSON.stringify(merged, null, 2)}\n`;
}

// The mark: half a millisecond past updated_at, within a few microseconds (the mark reads back
// within 1 µs on ext4 and tmpfs). Coarse kernel timestamps never land there; fine-grained ones
// (Linux 6.13 and later) can, but only for a write in the same millisecond as the tracked one,
// and then 1 time in 100 — a narrower window than the 20 µs this used to allow. Such a file is
// taken for the mirror and not read, so the registry's copy wins over it.
const MARK_MS = 0.5;
const SLACK_MS = 0.005;

function mirrorMtimeSeconds(updatedAt: string): number {
  return (Date.parse(updatedAt) + MARK_MS) / 1000;
}

/**
 * True when status.json is still the mirror trackWorkspace wrote for `updatedAt`: its mtime
 * carries the mark set at write time (a double holds it to well under a microsecond). Any
 * other writer's file fails the check and is re-read.
 */
export function isCurrentMirror(path: string, updatedAt: string): boolean {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat !== undefined && carriesMirrorMark(stat.mtimeMs, updatedAt);
}

/** {@link isCurrentMirror} for an mtime already read (NaN: no file). */
export function carriesMirrorMark(mtimeMs: number, updatedAt: string): boolean {
  return Math.abs(mtimeMs - (Date.parse(updatedAt) + MARK_MS)) < SLACK_MS;
}
