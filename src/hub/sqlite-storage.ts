import type { Database as SqliteDatabase, Transaction } from 'better-sqlite3';
import { AgenticError } from '../lib/errors.js';
import { migrateSqlite } from '../store/migrations.js';
import { prepareSqliteIngest } from './sqlite-ingest.js';
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

type DatabaseConstructor = new (path: string, options?: { timeout?: number }) => SqliteDatabase;

/** How long a writer waits for another process's lock on the hub database, in ms. */
const BUSY_TIMEOUT_MS = 15_000;

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
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const version = migrateSqlite(
      db,
      { set: 'hub-sqlite', table: 'hub_schema_migrations', what: 'hub database' },
      now,
    );
    return new SqliteHubStorage(db, path, version);
  } catch (err) {
    db.close();
    throw err;
  }
}

class SqliteHubStorage implements HubStorage {
  readonly engine = 'sqlite' as const;
  private closed = false;
  private readonly ingestTx: Transaction<(batch: IngestBatch) => IngestOutcome>;

  constructor(
    private readonly db: SqliteDatabase,
    readonly location: string,
    readonly schemaVersion: number,
  ) {
    this.ingestTx = prepareSqliteIngest(db);
  }

  async addToken(token: TokenRow): Promise<void> {
    this.open()
      .prepare(
        'INSERT INTO hub_tokens (token_hash, agent_id, admin, created_at) VALUES (?, ?, ?, ?)',
      )
      .run(token.tokenHash, token.agentId, token.admin ? 1 : 0, token.createdAt);
  }

  async findToken(tokenHash: string): Promise<TokenRow | undefined> {
    const row = this.open()
      .prepare<[string], { agent_id: string | null; admin: number; created_at: string }>(
        'SELECT agent_id, admin, created_at FROM hub_tokens WHERE token_hash = ?',
      )
      .get(tokenHash);
    return row === undefined
      ? undefined
      : { tokenHash, agentId: row.agent_id, admin: row.admin === 1, createdAt: row.created_at };
  }

  async listTokens(): Promise<TokenRow[]> {
    return this.open()
      .prepare<
        [],
        { token_hash: string; agent_id: string | null; admin: number; created_at: string }
      >(
        'SELECT token_hash, agent_id, admin, created_at FROM hub_tokens ORDER BY created_at, token_hash',
      )
      .all()
      .map((r) => ({
        tokenHash: r.token_hash,
        agentId: r.agent_id,
        admin: r.admin === 1,
        createdAt: r.created_at,
      }));
  }

  async removeTokens(tokenHashes: readonly string[]): Promise<number> {
    const db = this.open();
    const remove = db.prepare('DELETE FROM hub_tokens WHERE token_hash = ?');
    return db.transaction(() => tokenHashes.reduce((n, h) => n + remove.run(h).changes, 0))();
  }

  async ingest(batch: IngestBatch): Promise<IngestOutcome> {
    this.open();
    return this.ingestTx.immediate(batch);
  }

  async context(agentId: string, since: string | undefined, limit: number): Promise<ContextItem[]> {
    const after = since ?? '';
    const db = this.open();
    const dispatches = db
      .prepare<[string, string, number], DispatchRowFields>(
        `SELECT seq, agent_id, dispatch_id, fingerprint, fleet_node_id, record, received_at FROM hub_dispatches
         WHERE agent_id <> ? AND received_at > ? ORDER BY received_at DESC, seq DESC LIMIT ?`,
      )
      .all(agentId, after, limit);
    const notes = db
      .prepare<[string, string, number], NoteRowFields>(
        `SELECT seq, target_agent_id, note, created_at FROM hub_notes
         WHERE (target_agent_id IS NULL OR target_agent_id = ?) AND created_at > ?
         ORDER BY created_at DESC, seq DESC LIMIT ?`,
      )
      .all(agentId, after, limit);
    return mergeNewestFirst(dispatches.map(dispatchItem), notes.map(noteItem), limit);
  }

  async contextPage(
    agentId: string,
    after: number,
    since: string | undefined,
    limit: number,
  ): Promise<ContextPage> {
    const db = this.open();
    const counter = db.prepare<[string], { value: number }>(
      'SELECT value FROM hub_counter WHERE name = ?',
    );
    const changes = db.prepare<[Record<string, string | number>], ContextChangeRow>(
      contextChangeSql((name) => `@${name}`),
    );
    // One read transaction: the counter and the rows come from the same snapshot.
    return db.transaction(() => {
      const top = counter.get(CONTEXT_COUNTER)?.value ?? 0;
      const from = after > top ? 0 : after;
      const rows = changes.all({
        after: from,
        agent: agentId,
        since: since ?? '',
        limit: limit + 1,
      });
      return contextPageOf(rows, from, top, limit);
    })();
  }

  async contextCount(agentId: string): Promise<number> {
    const row = this.open()
      .prepare<[string, string], { n: number }>(
        `SELECT (SELECT COUNT(*) FROM hub_dispatches WHERE agent_id <> ?)
              + (SELECT COUNT(*) FROM hub_notes WHERE target_agent_id IS NULL OR target_agent_id = ?) AS n`,
      )
      .get(agentId, agentId);
    return row?.n ?? 0;
  }

  async addNote(note: {
    text: string;
    agentId: string | null;
    extra: Record<string, unknown>;
    createdAt: string;
  }): Promise<NoteItem> {
    const json = JSON.stringify({ ...note.extra, text: note.text });
    const db = this.open();
    const bump = db.prepare<[string], { value: number }>(
      'UPDATE hub_counter SET value = value + 1 WHERE name = ? RETURNING value',
    );
    const insert = db.prepare(
      'INSERT INTO hub_notes (target_agent_id, note, created_at, change_seq) VALUES (?, ?, ?, ?)',
    );
    const info = db
      .transaction(() => {
        const seq = bump.get(CONTEXT_COUNTER)?.value;
        if (seq === undefined)
          throw new AgenticError('INTERNAL', 'the hub change counter is missing');
        return insert.run(note.agentId, json, note.createdAt, seq);
      })
      .immediate();
    return noteItem({
      seq: Number(info.lastInsertRowid),
      target_agent_id: note.agentId,
      note: json,
      created_at: note.createdAt,
    });
  }

  async recordPull(agentId: string, at: string): Promise<void> {
    this.open()
      .prepare(
        `INSERT INTO hub_agents (agent_id, last_pull_at) VALUES (?, ?)
         ON CONFLICT (agent_id) DO UPDATE SET last_pull_at = excluded.last_pull_at`,
      )
      .run(agentId, at);
  }

  async agent(agentId: string): Promise<AgentRow | undefined> {
    const row = this.open()
      .prepare<[string], AgentRowFields>(`${AGENT_SELECT} WHERE a.agent_id = ?`)
      .get(agentId);
    return row === undefined ? undefined : agentRow(row);
  }

  async agents(): Promise<AgentRow[]> {
    return this.open()
      .prepare<[], AgentRowFields>(`${AGENT_SELECT} ORDER BY a.agent_id`)
      .all()
      .map(agentRow);
  }

  async statusCounts(agentId?: string): Promise<Record<string, number>> {
    const rows = this.open()
      .prepare<[string | null, string | null], { status: string | null; n: number }>(
        `SELECT status, COUNT(*) AS n FROM hub_dispatches WHERE ? IS NULL OR agent_id = ?
         GROUP BY status ORDER BY status`,
      )
      .all(agentId ?? null, agentId ?? null);
    return Object.fromEntries(rows.map((r) => [r.status ?? 'unknown', r.n]));
  }

  async recentDispatches(filter: DashboardFilter): Promise<DashboardDispatchRow[]> {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: filter.limit };
    if (filter.agentId !== undefined) {
      where.push('agent_id = @agentId');
      params['agentId'] = filter.agentId;
    }
    if (filter.status !== undefined) {
      where.push('status = @status');
      params['status'] = filter.status;
    }
    if (filter.repo !== undefined) {
      where.push("(repo = @repo OR org || '/' || repo = @repo)");
      params['repo'] = filter.repo;
    }
    const rows = this.open()
      .prepare<[Record<string, string | number>], DispatchRowFields>(
        `SELECT seq, agent_id, dispatch_id, fingerprint, fleet_node_id, record, received_at FROM hub_dispatches
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, seq DESC LIMIT @limit`,
      )
      .all(params);
    return rows.map(dashboardRow);
  }

  async pruneIdempotency(before: string): Promise<number> {
    return this.open().prepare('DELETE FROM hub_idempotency WHERE created_at < ?').run(before)
      .changes;
  }

  async versionCount(): Promise<number> {
    const row = this.open()
      .prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM hub_dispatch_versions')
      .get();
    return row?.n ?? 0;
  }

  async ping(): Promise<void> {
    this.open().prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private open(): SqliteDatabase {
    if (this.closed) throw new AgenticError('STORE_UNAVAILABLE', 'the hub database is closed');
    return this.db;
  }
}
