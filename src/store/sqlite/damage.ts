import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { compactUtc } from '../../lib/clock.js';
import { AgenticError } from '../../lib/errors.js';

/** True for SQLite's result codes of a damaged file (SQLITE_CORRUPT and its extended codes, SQLITE_NOTADB). */
export function isCorruptCode(code: string): boolean {
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT');
}

/** The marker beside the database that tells the next open it was moved aside (and where), or that it must be. */
export function damageMarkerPath(dbPath: string): string {
  return `${dbPath}.damaged`;
}

/**
 * Moves the database with its `-wal` and `-shm` to `<dir>/quarantine/db.sqlite.<time>*`, all
 * three together (the WAL belongs to that file and would be replayed into a fresh one), and
 * returns the new path of the database.
 */
export function quarantineSqlite(dbPath: string, now: Date): string {
  const dir = join(dirname(dbPath), 'quarantine');
  mkdirSync(dir, { recursive: true });
  const target = join(dir, `${basename(dbPath)}.${compactUtc(now)}`);
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, target + suffix);
  }
  return target;
}

/**
 * For an error that says the database is damaged: moves it aside with its WAL at once (while
 * this connection still holds them, so closing it cannot fold the WAL away), leaves the marker
 * naming where it went (so the next open rebuilds it) and returns STORE_CORRUPT; for any other
 * error, undefined.
 */
export function damaged(dbPath: string, err: unknown): AgenticError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !isCorruptCode(code)) return undefined;
  let where = 'still in place';
  try {
    if (existsSync(dbPath)) {
      where = quarantineSqlite(dbPath, new Date());
      writeFileSync(damageMarkerPath(dbPath), `${where}\n`);
    }
  } catch {
    // The error below still stops the caller; the next open checks the file again.
  }
  return new AgenticError(
    'STORE_CORRUPT',
    `the state store ${dbPath} is damaged (${(err as Error).message}); moved to ${where}, it is rebuilt from the workspaces' files when opened again`,
    { cause: err },
  );
}
