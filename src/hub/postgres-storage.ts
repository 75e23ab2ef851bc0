import pg from 'pg';
import { AgenticError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { migratePostgres } from '../store/migrations.js';
import { redactUrl } from '../store/open.js';
import { inTransaction } from '../store/postgres/transaction.js';
import { ingestPostgres } from './postgres-ingest.js';
import {
  AGENT_SELECT,
  agentRow,
  CONTEXT_COUNTER,
  contextChangeSql,
  contextPageOf,
  type ContextChangeRow,
  dashboardRow,
  dispatchItem,
  mergeNewestFirst,
  noteItem,
  type AgentRowFields,
  type DispatchRowFields,
  type NoteRowFields,
} from './rows.js';
import type {
  AgentRow,
  ContextItem,
  ContextPage,
  DashboardDispatchRow,
  DashboardFilter,
  HubStorage,
  IngestBatch,
  IngestOutcome,
  NoteItem,
  TokenRow,
} from './storage.js';

const PARAMS = { after: '$1', agent: '$2', since: '$3', limit: '$4' } as const;
const CHANGES_SQL = contextChangeSql((name) => PARAMS[name]);

/** Advisory lock key held while migrating the hub schema ("hub0" in ASCII). */
const MIGRATE_LOCK = 0x68756230;

/**
 * Opens the hub's PostgreSQL database at `url`: a small pool, migrations from
 * `migrations/hub-postgres/` under an advisory lock. Hub tables are prefixed `hub_`, so the
 * database may be shared with a state store. Throws STORE_SCHEMA_TOO_NEW for a newer schema;
 * connection errors propagate.
 */
export async function openPostgresHubStorage(
  url: string,
  options: { logger: Logger; now: () => Date; max?: number },
): Promise<HubStorage> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 8,
    connectionTimeoutMillis: 5_000,
  });
  pool.on('error', (err) =>
    options.logger.warn({ err: err.message }, 'idle PostgreSQL connection failed'),
  );
  try {
    const version = await migrate(pool, options.now);
    return new PostgresHubStorage(pool, redactUrl(url), version);
  } catch (err) {
    await pool.end();
    throw err;
  }
}

async function migrate(pool: pg.Pool, now: () => Date): Promise<number> {
  return inTransaction(pool, (client) =>
    migratePostgres(
      client,
      { set: 'hub-postgres', table: 'hub_schema_migrations', what: 'hub database' },
      MIGRATE_LOCK,
      now,
    ),
  );
}

class PostgresHubStorage implements HubStorage {
  readonly engine = 'postgres' as const;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
    readonly schemaVersion: number,
  ) {}

  async addToken(token: TokenRow): Promise<void> {
    await this.db().query(
      'INSERT INTO hub_tokens (token_hash, agent_id, admin, created_at) VALUES ($1, $2, $3, $4)',
      [token.tokenHash, token.agentId, token.admin, token.createdAt],
    );
  }

  async findToken(tokenHash: string): Promise<TokenRow | undefined> {
    const res = await this.db().query<{
      agent_id: string | null;
      admin: boolean;
      created_at: string;
    }>('SELECT agent_id, admin, created_at FROM hub_tokens WHERE token_hash = $1', [tokenHash]);
    const row = res.rows[0];
    return row === undefined
      ? undefined
      : { tokenHash, agentId: row.agent_id, admin: row.admin, createdAt: row.created_at };
  }

  async listTokens(): Promise<TokenRow[]> {
    const res = await this.db().query<{
      token_hash: string;
      agent_id: string | null;
      admin: boolean;
      created_at: string;
    }>(
      'SELECT token_hash, agent_id, admin, created_at FROM hub_tokens ORDER BY created_at, token_hash',
    );
    return res.rows.map((r) => ({
      tokenHash: r.token_hash,
      agentId: r.agent_id,
      admin: r.admin,
      createdAt: r.created_at,
    }));
  }

  async removeTokens(tokenHashes: readonly string[]): Promise<number> {
    if (tokenHashes.length === 0) return 0;
    const res = await this.db().query('DELETE FROM hub_tokens WHERE token_hash = ANY($1::text[])', [
      [...tokenHashes],
    ]);
    return res.rowCount ?? 0;
  }

  ingest(batch: IngestBatch): Promise<IngestOutcome> {
    return ingestPostgres(this.db(), batch);
  }

  async context(agentId: string, since: string | undefined, limit: number): Promise<ContextItem[]> {
    const after = since ?? '';
    const [dispatches, notes] = await Promise.all([
      this.db().query<DispatchRowFields>(
        `SELECT agent_id, dispatch_id, fingerprint, fleet_node_id, record, received_at FROM hub_dispatches
         WHERE agent_id <> $1 AND received_at > $2 ORDER BY received_at DESC, seq DESC LIMIT $3`,
        [agentId, after, limit],
      ),
      this.db().query<NoteRowFields>(
        `SELECT seq, target_agent_id, note, created_at FROM hub_notes
         WHERE (target_agent_id IS NULL OR target_agent_id = $1) AND created_at > $2
         ORDER BY created_at DESC, seq DESC LIMIT $3`,
        [agentId, after, limit],
      ),
    ]);
    return mergeNewestFirst(dispatches.rows.map(dispatchItem), notes.rows.map(noteItem), limit);
  }

  async contextPage(
    agentId: string,
    after: number,
    since: string | undefined,
    limit: number,
  ): Promise<ContextPage> {
    // The counter is read first: every change up to it was committed before the query below
    // takes its snapshot (writers hold the counter row until they commit).
    const counter = await this.db().query<{ value: string }>(
      'SELECT value FROM hub_counter WHERE name = $1',
      [CONTEXT_COUNTER],
    );
    const top = Number(counter.rows[0]?.value ?? 0);
    const from = after > top ? 0 : after;
    const rows = await this.db().query<ContextChangeRow>(CHANGES_SQL, [
      from,
      agentId,
      since ?? '',
      limit + 1,
    ]);
    return contextPageOf(rows.rows, from, top, limit);
  }

  async contextCount(agentId: string): Promise<number> {
    const res = await this.db().query<{ n: number }>(
      `SELECT ((SELECT COUNT(*) FROM hub_dispatches WHERE agent_id <> $1)
             + (SELECT COUNT(*) FROM hub_notes WHERE target_agent_id IS NULL OR target_agent_id = $1))::int AS n`,
      [agentId],
    );
    return res.rows[0]?.n ?? 0;
  }

  async addNote(note: {
    text: string;
    agentId: string | null;
    extra: Record<string, unknown>;
    createdAt: string;
  }): Promise<NoteItem> {
    const json = JSON.stringify({ ...note.extra, text: note.text });
    const res = await inTransaction(this.db(), async (client) => {
      // The counter row stays locked until COMMIT, so changes commit in counter order.
      const bumped = await client.query<{ value: string }>(
        'UPDATE hub_counter SET value = value + 1 WHERE name = $1 RETURNING value',
        [CONTEXT_COUNTER],
      );
      const seq = bumped.rows[0]?.value;
      if (seq === undefined)
        throw new AgenticError('INTERNAL', 'the hub change counter is missing');
      return client.query<NoteRowFields>(
        `INSERT INTO hub_notes (target_agent_id, note, created_at, change_seq) VALUES ($1, $2, $3, $4)
         RETURNING seq, target_agent_id, note, created_at`,
        [note.agentId, json, note.createdAt, seq],
      );
    });
    const row = res.rows[0];
    if (row === undefined) throw new AgenticError('INTERNAL', 'INSERT … RETURNING returned no row');
    return noteItem(row);
  }

  async recordPull(agentId: string, at: string): Promise<void> {
    await this.db().query(
      `INSERT INTO hub_agents (agent_id, last_pull_at) VALUES ($1, $2)
       ON CONFLICT (agent_id) DO UPDATE SET last_pull_at = EXCLUDED.last_pull_at`,
      [agentId, at],
    );
  }

  async agent(agentId: string): Promise<AgentRow | undefined> {
    const res = await this.db().query<AgentRowFields>(`${AGENT_SELECT} WHERE a.agent_id = $1`, [
      agentId,
    ]);
    const row = res.rows[0];
    return row === undefined ? undefined : agentRow(row);
  }

  async agents(): Promise<AgentRow[]> {
    const res = await this.db().query<AgentRowFields>(`${AGENT_SELECT} ORDER BY a.agent_id`);
    return res.rows.map(agentRow);
  }

  async statusCounts(agentId?: string): Promise<Record<string, number>> {
    const res = await this.db().query<{ status: string | null; n: number }>(
      `SELECT status, COUNT(*)::int AS n FROM hub_dispatches WHERE $1::text IS NULL OR agent_id = $1
       GROUP BY status ORDER BY status`,
      [agentId ?? null],
    );
    return Object.fromEntries(res.rows.map((r) => [r.status ?? 'unknown', r.n]));
  }

  async recentDispatches(filter: DashboardFilter): Promise<DashboardDispatchRow[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (filter.agentId !== undefined) {
      params.push(filter.agentId);
      where.push(`agent_id = $${params.length}`);
    }
    if (filter.status !== undefined) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    if (filter.repo !== undefined) {
      params.push(filter.repo);
      where.push(`(repo = $${params.length} OR org || '/' || repo = $${params.length})`);
    }
    params.push(filter.limit);
    const res = await this.db().query<DispatchRowFields>(
      `SELECT agent_id, dispatch_id, fingerprint, fleet_node_id, record, received_at FROM hub_dispatches
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, seq DESC LIMIT $${params.length}`,
      params,
    );
    return res.rows.map(dashboardRow);
  }

  async pruneIdempotency(before: string): Promise<number> {
    const res = await this.db().query('DELETE FROM hub_idempotency WHERE created_at < $1', [
      before,
    ]);
    return res.rowCount ?? 0;
  }

  async versionCount(): Promise<number> {
    const res = await this.db().query<{ n: number }>(
      'SELECT COUNT(*)::int AS n FROM hub_dispatch_versions',
    );
    return res.rows[0]?.n ?? 0;
  }

  async ping(): Promise<void> {
    await this.db().query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private db(): pg.Pool {
    if (this.closed) throw new AgenticError('STORE_UNAVAILABLE', 'the hub database is closed');
    return this.pool;
  }
}
