import { createRequire } from 'node:module';
import type { Database as SqliteDatabase } from 'better-sqlite3';

/** The better-sqlite3 constructor, loaded lazily by whoever opens a database. */
export type DatabaseConstructor = new (
  path: string,
  options?: { timeout?: number },
) => SqliteDatabase;

/** How long a writer waits for another process's lock before failing, in ms. */
export const SQLITE_BUSY_TIMEOUT_MS = 15_000;

/**
 * Loads the SQLite driver; only the verbs that open a database pay for it. Required as the
 * CommonJS package it is, which skips the ESM wrapper's scan of its exports (start-up time).
 */
export async function loadBetterSqlite(): Promise<DatabaseConstructor> {
  return Promise.resolve(createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor);
}

/**
 * Opens the SQLite file at `path` with the busy timeout, WAL and synchronous=FULL (plus foreign
 * keys when asked), then lets `init` migrate it and wrap it. When anything throws, `failed` sees
 * the error while the connection is still open (it may move the file aside with its WAL), the
 * connection is closed, and what `failed` returned (else the error) is thrown.
 */
export function openSqliteDb<T>(
  Database: DatabaseConstructor,
  path: string,
  init: (db: SqliteDatabase) => T,
  options: { foreignKeys?: boolean; failed?: (err: unknown) => Error | undefined } = {},
): T {
  const db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    if (options.foreignKeys === true) db.pragma('foreign_keys = ON');
    return init(db);
  } catch (err) {
    const mapped = options.failed?.(err);
    db.close();
    throw mapped ?? err;
  }
}
