import type pg from 'pg';
import { AgenticError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { redactUrl } from '../../lib/text.js';
import { openMigratedPool } from './pool.js';
import { opsOn } from './ops.js';
import { oneCallOn } from './one-call.js';
import { inTransaction } from './transaction.js';
import type {
  Group,
  EntriesPage,
  OneCallOps,
  QueuePageRequest,
  QueueRow,
  StateStore,
  StatsQuery,
  StatsRow,
  StoreOps,
} from '../types.js';

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
    max: options.max ?? 10,
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

class PostgresStore implements StateStore {
  readonly engine = 'postgres' as const;
  readonly degraded = false;
  readonly ownsStateFiles = false;
  readonly reason = undefined;
  private readonly ops: StoreOps;
  readonly oneCall: OneCallOps;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    readonly location: string,
    readonly schemaVersion: number,
    private readonly logger: Logger,
  ) {
    this.ops = opsOn(pool, false);
    this.oneCall = oneCallOn(pool, this.retrying);
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
  transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    return this.retrying(() => inTransaction(this.pool, (client) => fn(opsOn(client, true))));
  }

  /** Runs `attempt` again after a deadlock, serialization failure or lock timeout, a few times. */
  private readonly retrying = async <T>(attempt: () => Promise<T>): Promise<T> => {
    for (let n = 1; ; n++) {
      if (this.closed) throw new AgenticError('STORE_UNAVAILABLE', 'the state store is closed');
      try {
        return await attempt();
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (n >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRY_CODES.has(code)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * n));
      }
    }
  };

  addStats(row: StatsRow): Promise<void> {
    return this.ops.addStats(row);
  }

  /**
   * Sends one NOTIFY after every call, but calls made while one is being sent share the next:
   * PostgreSQL queues notifying commits one at a time across the whole cluster, and a wake-up
   * only says "look again".
   */
  notifyWake(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.nextWake ??= this.sendingWake
      .catch(() => undefined)
      .then(() => {
        this.nextWake = undefined;
        // Closed meanwhile: nobody is left to tell (the pool would refuse the query).
        if (this.closed) return undefined;
        this.sendingWake = this.pool
          .query('SELECT pg_notify($1, $2)', [WAKE_CHANNEL, ''])
          .then(() => undefined);
        return this.sendingWake;
      });
    return this.nextWake;
  }
  private sendingWake: Promise<void> = Promise.resolve();
  private nextWake: Promise<void> | undefined;

  /** LISTENs on its own connection (a pooled one would be handed to other work), reconnecting after a second when it drops. */
  async listenWakes(onWake: () => void): Promise<() => Promise<void>> {
    const { default: driver } = await import('pg');
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const c = new driver.Client({ connectionString: this.url });
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
