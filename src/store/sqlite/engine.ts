import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { AgenticError } from '../../lib/errors.js';
import { Mutex } from '../../lib/mutex.js';
import { SyncBarrier } from '../../lib/sync-barrier.js';
import { migrateSqlite } from '../migrations.js';
import { compareQueueCursors } from '../types.js';
import { damaged } from './damage.js';
import { openSqliteDb, type DatabaseConstructor } from './open-db.js';
import {
  queuePageSql,
  queuePoolSql,
  type QueuePageParams,
  type QueuePageRow,
} from './queue-sql.js';
import { fsyncWal, fsyncWalSync } from './wal.js';
import type {
  EarlyCommit,
  Group,
  EntriesPage,
  QueueCursor,
  QueuePageRequest,
  QueueRow,
  StateStore,
  StatsQuery,
  StatsRow,
  StoreOps,
} from '../types.js';

/**
 * Opens (creating if needed) the SQLite state store at `path`: WAL, busy timeout, migrations
 * applied in one IMMEDIATE transaction so concurrent starters are safe. A write resolves only
 * once it is on disk (a committed transition survives power loss) — the durability of
 * synchronous=FULL, but the engine runs SQLite at synchronous=NORMAL (in WAL mode the same but
 * for the fsync of the WAL at COMMIT) and fsyncs the WAL itself after COMMIT, so the database
 * write lock is never held across an fsync. The fsync is done in place, or, after
 * `groupCommit()`, on the thread pool and shared by all writes committed meanwhile (see
 * {@link SyncBarrier}); `syncWal` replaces that one in tests. Throws STORE_SCHEMA_TOO_NEW when
 * the file was migrated by a newer agentic; other open errors propagate (see open.ts).
 */
export function openSqliteStore(
  Database: DatabaseConstructor,
  path: string,
  syncWal: () => Promise<void> = () => fsyncWal(path),
): StateStore {
  return openSqliteDb(
    Database,
    path,
    (db) => {
      const schemaVersion = migrateSqlite(
        db,
        { set: 'sqlite', table: 'schema_migrations', what: 'state store' },
        () => new Date(),
      );
      // From here the engine fsyncs the WAL itself, after COMMIT has released the write lock:
      // another process (the runner) never waits out this one's fsync.
      db.pragma('synchronous = NORMAL');
      return new SqliteStore(db, path, schemaVersion, new SyncBarrier(syncWal));
    },
    { foreignKeys: true, failed: (err) => damaged(path, err) },
  );
}

class SqliteStore implements StateStore {
  readonly engine = 'sqlite' as const;
  readonly degraded = false;
  readonly ownsStateFiles = false;
  readonly reason = undefined;
  private readonly mutex = new Mutex();
  private readonly ops: StoreOps;
  private closed = false;
  /** Set by every write; a transaction that wrote nothing needs no fsync. */
  private wrote = false;
  /** Group commit: see groupCommit(). */
  private sharedSync = false;
  private readonly stmts: {
    get: Statement<[string, string], { value: string }>;
    set: Statement<[string, string, string]>;
    del: Statement<[string, string]>;
    count: Statement<[string], { n: number }>;
    entries: Statement<[string], { key: string; value: string }>;
    entriesHead: Statement<[string, number], { key: string; value: string }>;
    entriesAfter: Statement<[string, string, number], { key: string; value: string }>;
    queueFirstPool: Statement<[], { pool: string }>;
    queueNextPool: Statement<{ pool: string }, { pool: string }>;
    queueHead: Statement<QueuePageParams, QueuePageRow>;
    queueAfter: Statement<QueuePageParams, QueuePageRow>;
    addStats: Statement<StatsRow>;
  };

  constructor(
    private readonly db: SqliteDatabase,
    readonly location: string,
    readonly schemaVersion: number,
    private readonly durability: SyncBarrier,
  ) {
    this.stmts = {
      get: db.prepare('SELECT value FROM kv WHERE grp = ? AND key = ?'),
      set: db.prepare(
        'INSERT INTO kv (grp, key, value) VALUES (?, ?, ?) ON CONFLICT (grp, key) DO UPDATE SET value = excluded.value',
      ),
      del: db.prepare('DELETE FROM kv WHERE grp = ? AND key = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM kv WHERE grp = ?'),
      entries: db.prepare('SELECT key, value FROM kv WHERE grp = ? ORDER BY key'),
      entriesHead: db.prepare('SELECT key, value FROM kv WHERE grp = ? ORDER BY key LIMIT ?'),
      entriesAfter: db.prepare(
        'SELECT key, value FROM kv WHERE grp = ? AND key > ? ORDER BY key LIMIT ?',
      ),
      queueFirstPool: db.prepare(queuePoolSql(false)),
      queueNextPool: db.prepare(queuePoolSql(true)),
      queueHead: db.prepare(queuePageSql(false)),
      queueAfter: db.prepare(queuePageSql(true)),
      addStats: db.prepare(
        `INSERT OR IGNORE INTO stats (workspace, repo, org, agent, model, outcome, runs, duration_ms, started_at, ended_at, committed_at, fingerprint)
         VALUES (@workspace, @repo, @org, @agent, @model, @outcome, @runs, @duration_ms, @started_at, @ended_at, @committed_at, @fingerprint)`,
      ),
    };
    const s = this.stmts;
    this.ops = {
      get: async (group, key) => {
        const row = s.get.get(group, key);
        return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
      },
      set: async (group, key, value) => {
        s.set.run(group, key, JSON.stringify(value));
        this.wrote = true;
      },
      delete: async (group, key) => {
        s.del.run(group, key);
        this.wrote = true;
      },
      count: async (group) => s.count.get(group)?.n ?? 0,
      addStats: async (row) => {
        s.addStats.run(row);
        this.wrote = true;
      },
      entries: async (group, page) => {
        const rows =
          page === undefined
            ? s.entries.all(group)
            : page.after === undefined
              ? s.entriesHead.all(group, page.limit)
              : s.entriesAfter.all(group, page.after, page.limit);
        return rows.map((r) => [r.key, JSON.parse(r.value) as unknown]);
      },
      queuePage: async ({ limit, after, skipPools = [], node }) => {
        // The head of each pool that may start, merged: a pool at its limit costs one seek.
        const rows: QueuePageRow[] = [];
        for (let p = s.queueFirstPool.get(); p; p = s.queueNextPool.get({ pool: p.pool })) {
          if (skipPools.includes(p.pool)) continue;
          const base = { pool: p.pool, limit, node: node ?? null };
          rows.push(
            ...(after
              ? s.queueAfter.all({ ...base, np: after[0], q: after[1], key: after[2] })
              : s.queueHead.all(base)),
          );
        }
        const cursor = (r: QueuePageRow): QueueCursor => [r.np, r.q, r.key];
        return rows
          .sort((a, b) => compareQueueCursors(cursor(a), cursor(b)))
          .slice(0, limit)
          .map((r) => ({ name: r.key, value: JSON.parse(r.value) as unknown, cursor: cursor(r) }));
      },
    };
  }

  get(group: Group, key: string): Promise<unknown> {
    return this.exclusive(() => this.ops.get(group, key));
  }
  set(group: Group, key: string, value: unknown): Promise<void> {
    return this.transaction((tx) => tx.set(group, key, value));
  }
  delete(group: Group, key: string): Promise<void> {
    return this.transaction((tx) => tx.delete(group, key));
  }
  count(group: Group): Promise<number> {
    return this.exclusive(() => this.ops.count(group));
  }
  entries(group: Group, page?: EntriesPage): Promise<Array<[string, unknown]>> {
    return this.exclusive(() => this.ops.entries(group, page));
  }
  queuePage(page: QueuePageRequest): Promise<QueueRow[]> {
    return this.exclusive(() => this.ops.queuePage(page));
  }

  /**
   * BEGIN IMMEDIATE takes the database write lock up front, so a read-check-write inside `fn`
   * can never interleave with another process. `fn` must only use `tx` (a nested call on the
   * store would wait for this transaction and deadlock).
   */
  async transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    const { result, durable } = await this.commitEarly(fn, () => Promise.resolve());
    await durable;
    return result;
  }

  async commitEarly<T>(
    fn: (tx: StoreOps) => Promise<T>,
    then: () => Promise<void>,
  ): Promise<EarlyCommit<T>> {
    const { result, wrote, durable } = await this.exclusive(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      this.wrote = false;
      try {
        const value = await fn(this.ops);
        this.db.exec('COMMIT');
        // Group commit: the fsync is asked for before the write lock is released, so each
        // commit's `then` runs after every earlier one's.
        const synced =
          this.wrote && this.sharedSync ? this.durability.request().then(then) : undefined;
        // Awaited by the caller later; not an unhandled rejection meanwhile.
        synced?.catch(() => undefined);
        return { result: value, wrote: this.wrote, durable: synced };
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
    if (durable) return { result, durable };
    // In place, after COMMIT and outside the mutex: no other process waits for this fsync.
    if (wrote) fsyncWalSync(this.location);
    await then();
    return { result, durable: Promise.resolve() };
  }

  groupCommit(): void {
    this.sharedSync = true;
  }

  addStats(row: StatsRow): Promise<void> {
    return this.transaction((tx) => tx.addStats(row));
  }

  queryStats(query: StatsQuery): Promise<StatsRow[]> {
    return this.exclusive(() => {
      const where: string[] = [];
      const params: Record<string, string | number> = { limit: query.limit ?? 100 };
      if (query.repo !== undefined) {
        where.push("(repo = @repo OR org || '/' || repo = @repo)");
        params['repo'] = query.repo;
      }
      if (query.outcome !== undefined) {
        where.push('outcome = @outcome');
        params['outcome'] = query.outcome;
      }
      const sql = `SELECT workspace, repo, org, agent, model, outcome, runs, duration_ms, started_at, ended_at, committed_at, fingerprint
        FROM stats ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
      return this.db.prepare(sql).all(params) as StatsRow[];
    });
  }

  async close(): Promise<void> {
    await this.mutex.run(() => {
      if (this.closed) return;
      this.closed = true;
      this.db.close();
    });
  }

  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.mutex.run(async () => {
      if (this.closed) throw new AgenticError('STORE_UNAVAILABLE', 'the state store is closed');
      try {
        return await fn();
      } catch (err) {
        throw damaged(this.location, err) ?? err;
      }
    });
  }
}
