import { existsSync, linkSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { isErrno, quarantineFile, readTextIfExists, writeFileAtomic } from '../../lib/fs.js';
import type { Logger } from '../../lib/logger.js';

/** The files under `<CoreRoot>/sync/`. */
export interface SyncPaths {
  dir: string;
  /** Queued pushes, oldest first; deleted when empty. */
  queue: string;
  /** id → fingerprint of the last successful push. */
  ledger: string;
  /** Dead-lettered pushes. */
  dropped: string;
  /** The last 100 push/pull/drop records. */
  history: string;
  /** The push/pull marks: `{last_push_at, last_pull_at, hold_until, …}`. */
  marks: string;
  /** The cached hub context. */
  context: string;
  /** Serialises queue changes across processes while the store is degraded. */
  lock: string;
}

/** Paths of the sync files of one CoreRoot. */
export function syncPaths(coreRoot: string): SyncPaths {
  const dir = join(coreRoot, 'sync');
  return {
    dir,
    queue: join(dir, 'queue.json'),
    ledger: join(dir, 'ledger.json'),
    dropped: join(dir, 'dropped.json'),
    history: join(dir, 'history.json'),
    marks: join(dir, 'marks.json'),
    context: join(dir, 'context.json'),
    lock: join(dir, 'queue.lock'),
  };
}

/** Names the history and marks files had before they were named for what they hold. */
const LEGACY_NAMES = { history: 'records.json', marks: 'status.json' } as const;

/**
 * Renames the history and marks files of an older version (`records.json`, `status.json`) to
 * today's names, once: an old file is moved only when the new one does not exist yet, so a
 * later start leaves both alone.
 */
export function migrateLegacyNames(paths: SyncPaths): void {
  for (const [key, old] of Object.entries(LEGACY_NAMES) as Array<
    [keyof typeof LEGACY_NAMES, string]
  >) {
    const from = join(paths.dir, old);
    if (!existsSync(from)) continue;
    try {
      // A link never replaces an existing file, unlike a rename: a new file written meanwhile wins.
      linkSync(from, paths[key]);
      unlinkSync(from);
    } catch (err) {
      // EEXIST: the new file is there already; ENOENT: another process moved the old one first.
      if (!isErrno(err, 'EEXIST') && !isErrno(err, 'ENOENT')) throw err;
    }
  }
}

/**
 * Reads and validates a JSON file; undefined when it does not exist. A file that is not valid
 * JSON or does not match `schema` is renamed `<file>.corrupt-<stamp>` and reported, never
 * silently dropped. I/O errors other than a missing file propagate.
 */
export function readJsonFile<T>(
  path: string,
  schema: z.ZodType<T>,
  io: { now: Date; logger: Logger },
): T | undefined {
  const text = readTextIfExists(path);
  if (text === undefined || text.trim() === '') return undefined;
  let reason: string;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    reason = parsed.error.issues[0]?.message ?? 'invalid';
  } catch (err) {
    reason = (err as Error).message;
  }
  const movedTo = quarantineFile(path, io.now);
  io.logger.warn({ file: path, moved_to: movedTo, reason }, 'corrupt sync file quarantined');
  return undefined;
}

/** Writes a JSON file atomically (temp + rename, fsync'd when it is the only copy). */
export function writeJsonFile(path: string, value: unknown, fsync: boolean): void {
  writeFileAtomic(path, `${JSON.stringify(value)}\n`, { fsync });
}

/** Removes a file; a missing file is fine. */
export function removeFile(path: string): void {
  rmSync(path, { force: true });
}
