import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { Mutex } from '../../lib/mutex.js';
import { migrateSqlite } from '../../store/migrations.js';
import { openSqliteDb, type DatabaseConstructor } from '../../store/sqlite/open-db.js';
import { prepareSqliteIngest, sqliteArgs, sqliteParam } from './ingest-sqlite.js';
import type { SqlValue } from './queries.js';
import { SqlHubStorage, type HubDb } from './sql-storage.js';
import type { HubStorage } from './types.js';

/**
 * Opens (creating if needed) the hub's SQLite database at `path`: WAL, synchronous=FULL,
 * migrations from `migrations/hub-sqlite/` in one IMMEDIATE transaction. Throws
 * STORE_SCHEMA_TOO_NEW when a newer agentic migrated the file; driver errors propagate.
 */
export function openSqliteHubStorage(
  Database: DatabaseConstructor,
  path: string,
  now: () => Date,
): HubStorage {
  return openSqliteDb(Database, path, (db) => {
    const schemaVersion = migrateSqlite(
      db,
      { set: 'hub-sqlite', table: 'hub_schema_migrations', what: 'hub database' },
      now,
    );
    const conn = new SqliteHubDb(db);
    const ingest = prepareSqliteIngest(db);
    return new SqlHubStorage({
      engine: 'sqlite',
      location: path,
      schemaVersion,
      db: conn,
      param: sqliteParam,
      arrays: false,
      ingest: (batch) => conn.exclusive(() => ingest.immediate(batch)),
      // Nodes share a fleet through PostgreSQL only; a SQLite hub never sees their registry.
      fleetSource: () =>
        Promise.resolve({
          reason:
            "the hub database is SQLite; the Fleet view needs the hub on the fleet's PostgreSQL database (hub --db set to the nodes' CORE_AGENT_STORE_URL)",
        }),
      close: () =>
        conn.exclusive(() => {
          db.close();
        }),
    });
  });
}

/**
 * One SQLite connection shared by every request. Statements are synchronous, but a transaction
 * awaits between them, so a mutex keeps other requests out of it (they would join it).
 */
class SqliteHubDb implements HubDb {
  private readonly mutex = new Mutex();
  private readonly direct: HubDb;

  constructor(db: SqliteDatabase) {
    const statements = new Map<string, Statement>();
    const prepared = (sql: string): Statement => {
      let stmt = statements.get(sql);
      if (stmt === undefined) {
        stmt = db.prepare(sql);
        statements.set(sql, stmt);
      }
      return stmt;
    };
    const args = (params: readonly SqlValue[] = []): [Record<string, unknown>] => [
      sqliteArgs(params),
    ];
    this.direct = {
      all: async <T>(sql: string, params?: readonly SqlValue[]) =>
        prepared(sql).all(...args(params)) as T[],
      get: async <T>(sql: string, params?: readonly SqlValue[]) =>
        prepared(sql).get(...args(params)) as T | undefined,
      run: async (sql, params) => prepared(sql).run(...args(params)).changes,
      tx: async (mode, fn) => {
        db.exec(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN');
        try {
          const result = await fn(this.direct);
          db.exec('COMMIT');
          return result;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      },
    };
  }

  /** Runs `fn` alone on the connection. */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.exclusive(() => this.direct.all<T>(sql, params));
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.exclusive(() => this.direct.get<T>(sql, params));
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.exclusive(() => this.direct.run(sql, params));
  }
  tx<T>(mode: 'read' | 'write', fn: (db: HubDb) => Promise<T>): Promise<T> {
    return this.exclusive(() => this.direct.tx(mode, fn));
  }
}
