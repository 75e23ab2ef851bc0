import { createRequire } from 'node:module';
import type { StateStore } from '../../src/store/index.js';
import { openSqliteStore } from '../../src/store/sqlite/engine.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as Parameters<
  typeof openSqliteStore
>[0];

/** A SQLite store at `path` whose WAL syncs are `syncWal` instead of an fsync, for tests to hold or fail them. */
export function sqliteStoreSyncedBy(path: string, syncWal: () => Promise<void>): StateStore {
  return openSqliteStore(Database, path, syncWal);
}
