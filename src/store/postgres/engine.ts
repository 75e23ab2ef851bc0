import pg from 'pg';
import { AgenticError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { openMigratedPool, redactUrl } from './pool.js';
import { inTransaction } from './transaction.js';
import type {
  Group,
  EntriesPage,
  QueuePageRequest,
  QueueRow,
  StateStore,
  StatsQuery,
  StatsRow,
  StoreOps,
} from '../types.js';

/** A queue entry's pool and claim-order columns, exactly as the kv_queue_by_pool index (migration 003) is built. */
const NP = `(-(CASE WHEN jsonb_typeof(value->'priority') = 'number' THEN (value->>'priority')::numeric ELSE 0 END))`;
const Q = `(CASE WHEN jsonb_typeof(value->'queued_at') = 'string' THEN value->>'queued_at' ELSE '' END) COLLATE "C"`;
const POOL = `(split_part(COALESCE(value->>'agent', ''), ':', 1) COLLATE "C")`;
/**
 * A page of the queue in claim order, from the start or after a row ($1 limit, $2 pools left
 * out, $3..$5 the row): the pools with queued work, one index seek each, then the head of each
 * pool not left out, merged. A pool at its limit costs one seek.
 */
const queuePageSql = (resume: boolean, lock: boolean): string => `WITH RECURSIVE pools (pool) AS (
    (SELECT ${POOL} FROM kv WHERE grp = 'queue' ORDER BY 1 LIMIT 1)
    UNION ALL
    SELECT (SELECT ${POOL} FROM kv WHERE grp = 'queue' AND ${POOL} > pools.pool ORDER BY 1 LIMIT 1)
    FROM pools WHERE pools.pool IS NOT NULL
  )
  SELECT head.* FROM pools, LATERAL (
    SELECT key, value, ${NP} AS np, ${Q} AS q FROM kv
    WHERE grp = 'queue' AND ${POOL} = pools.pool
      ${resume ? `AND (${NP}, ${Q}, key COLLATE "C") > ($3::numeric, $4::text COLLATE "C", $5::text COLLATE "C")` : ''}
    ORDER BY ${NP}, ${Q}, key COLLATE "C"
    LIMIT $1${lock ? ' FOR UPDATE SKIP LOCKED' : ''}
  ) head
  WHERE pools.pool IS NOT NULL AND NOT (pools.pool = ANY($2::text[]))
  ORDER BY head.np, head.q, head.key COLLATE "C"
  LIMIT $1`;
/** Queue pages: [plain, inside a transaction (rows another claim holds are skipped)], from the head or after a row. */
const QUEUE_HEAD_SQL = [queuePageSql(false, false), queuePageSql(false, true)] as const;
const QUEUE_AFTER_SQL = [queuePageSql(true, false), queuePageSql(true, true)] as const;

/** The NOTIFY channel of fleet wake-ups. */
const WAKE_CHANNEL = 'agentic_wake';
/** Advisory lock key held while migrating ("agnt" in ASCII, plus one). */
const MIGRATE_LOCK = 0x61676e75;

/** SQLSTATEs after which a transaction is run again: deadlock, serialization failure, lock timeout. */
const RETRY_CODES: ReadonlySet<string> = new Set(['40P01', '40001', '55P03']);
const MAX_ATTEMPTS = 6;

/** Session settings of every pooled connection, in ms: a stalled node cannot hold others up for long. */
const LOCK_TIMEOUT_MS = 10_000;
const IDLE_IN_TRANSACTION_MS = 60_000;

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Opens the PostgreSQL state store at `url` (fleet mode): a small pool, migrations under an
 * advisory lock so nodes starting together are safe. Throws STORE_SCHEMA_TOO_NEW when the
 * database was migrated by a newer agentic; connection errors propagate.
 */
export async function openPostgresStore(
  url: string,
  options: { logger: Logger; max?: number },
): Promise<StateStore> {
  const { pool, schemaVersion } = await openMigratedPool(url, {
    logger: options.logger,
    max: options.max ?? 4,
    settings: {
      lock_timeout: LOCK_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    },
    target: { set: 'postgres', table: 'schema_migrations', what: 'state store' },
    lockKey: MIGRATE_LOCK,
    now: () => new Date(),
  });
  return new PostgresStore(pool, url, redactUrl(url), schemaVersion, options.logger);
}

/**
 * Operations on a pooled connection, or (`inTx`) inside one transaction: there every read of a
 * key locks its row until COMMIT (SELECT … FOR UPDATE), and a read that finds no row takes a
 * transaction advisory lock on that one key, so a read-check-write never interleaves with
 * another node's on the same key — the per-pool running counter included, which is how pool
 * limits hold fleet-wide. Queue pages skip rows another transaction holds (SKIP LOCKED).
 */
function opsOn(db: Queryable, inTx: boolean): StoreOps {
  const select = async (group: string, key: string, lock: boolean): Promise<unknown> => {
    const res = await db.query<{ value: unknown }>(
      `SELECT value FROM kv WHERE grp = $1 AND key = $2${lock ? ' FOR UPDATE' : ''}`,
      [group, key],
    );
    return res.rows[0]?.value;
  };
  return {
    get: async (group, key) => {
      const value = await select(group, key, inTx);
      if (!inTx || value !== undefined) return value;
      await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${group}/${key}`]);
      return select(group, key, true);
    },
    set: async (group, key, value) => {
      await db.query(
        'INSERT INTO kv (grp, key, value) VALUES ($1, $2, $3::jsonb) ON CONFLICT (grp, key) DO UPDATE SET value = EXCLUDED.value',
        [group, key, JSON.stringify(value)],
      );
    },
    delete: async (group, key) => {
      await db.query('DELETE FROM kv WHERE grp = $1 AND key = $2', [group, key]);
    },
    count: async (group) => {
      const res = await db.query<{ n: number }>(
        'SELECT COUNT(*)::int AS n FROM kv WHERE grp = $1',
        [group],
      );
      return res.rows[0]?.n ?? 0;
    },
    addStats: async (row) => {
      await db.query(
        `INSERT INTO stats (workspace, repo, org, agent, model, outcome, runs, duration_ms, started_at, ended_at, committed_at, fingerprint)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (workspace, fingerprint) DO NOTHING`,
        [
          row.workspace,
          row.repo,
          row.org,
          row.agent,
          row.model,
          row.outcome,
          row.runs,
          row.duration_ms,
          row.started_at,
          row.ended_at,
          row.committed_at,
          row.fingerprint,
        ],
      );
    },
    entries: async (group, page) => {
      // A NULL limit is no limit, a NULL `after` no lower bound.
      const res = await db.query<{ key: string; value: unknown }>(
        'SELECT key, value FROM kv WHERE grp = $1 AND ($3::text IS NULL OR key > $3) ORDER BY key LIMIT $2',
        [group, page?.limit ?? null, page?.after ?? null],
      );
      return res.rows.map((r) => [r.key, r.value]);
    },
    queuePage: async ({ limit, after, skipPools = [] }) => {
      const res = await db.query<{ key: string; value: unknown; np: string; q: string }>(
        (after ? QUEUE_AFTER_SQL : QUEUE_HEAD_SQL)[inTx ? 1 : 0],
        after ? [limit, [...skipPools], ...after] : [limit, [...skipPools]],
      );
      return res.rows.map((r) => ({
        name: r.key,
        value: r.value,
        cursor: [Number(r.np), r.q, r.key] as const,
      }));
    },
  };
}

class PostgresStore implements StateStore {
  readonly engine = 'postgres' as const;
  readonly degraded = false;
  readonly reason = undefined;
  private readonly ops: StoreOps;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    readonly location: string,
    readonly schemaVersion: number,
    private readonly logger: Logger,
  ) {
    this.ops = opsOn(pool, false);
  }

  get(group: Group, key: string): Promise<unknown> {
    return this.ops.get(group, key);
  }
  set(group: Group, key: string, value: unknown): Promise<void> {
    return this.ops.set(group, key, value);
  }
  delete(group: Group, key: string): Promise<void> {
    return this.ops.delete(group, key);
  }
  count(group: Group): Promise<number> {
    return this.ops.count(group);
  }
  entries(group: Group, page?: EntriesPage): Promise<Array<[string, unknown]>> {
    return this.ops.entries(group, page);
  }
  queuePage(page: QueuePageRequest): Promise<QueueRow[]> {
    return this.ops.queuePage(page);
  }

  /**
   * One transaction on one connection, with no fleet-wide lock: the rows it reads are locked
   * (see opsOn). A deadlock between two nodes, or a lock
   * wait past the lock timeout, rolls it back and runs `fn` again from the start.
   */
  async transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new AgenticError('STORE_UNAVAILABLE', 'the state store is closed');
      try {
        return await inTransaction(this.pool, (client) => fn(opsOn(client, true)));
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRY_CODES.has(code))
          throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
      }
    }
  }

  addStats(row: StatsRow): Promise<void> {
    return this.ops.addStats(row);
  }

  async notifyWake(): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [WAKE_CHANNEL, '']);
  }

  /** LISTENs on its own connection (a pooled one would be handed to other work), reconnecting after a second when it drops. */
  async listenWakes(onWake: () => void): Promise<() => Promise<void>> {
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.url });
      c.on('notification', () => onWake());
      c.on('error', (err) => {
        this.logger.warn({ err: err.message }, 'PostgreSQL wake-up connection lost; reconnecting');
        again(c);
      });
      c.on('end', () => again(c));
      client = c;
      await c.connect();
      await c.query(`LISTEN ${WAKE_CHANNEL}`);
      onWake();
    };
    const again = (c: pg.Client): void => {
      if (stopped || client !== c || retry) return;
      client = undefined;
      void c.end().catch(() => undefined);
      retry = setTimeout(() => {
        retry = undefined;
        if (!stopped) connect().catch(() => again(client ?? c));
      }, 1_000);
      retry.unref();
    };
    await connect();
    return async () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => undefined);
    };
  }

  async queryStats(query: StatsQuery): Promise<StatsRow[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.repo !== undefined) {
      params.push(query.repo);
      where.push(`(repo = $${params.length} OR org || '/' || repo = $${params.length})`);
    }
    if (query.outcome !== undefined) {
      params.push(query.outcome);
      where.push(`outcome = $${params.length}`);
    }
    params.push(query.limit ?? 100);
    const res = await this.pool.query<StatsRow>(
      `SELECT workspace, repo, org, agent, model, outcome, runs, duration_ms::float8 AS duration_ms, started_at, ended_at, committed_at, fingerprint
       FROM stats ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return res.rows;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
