import { AgenticError } from '../../lib/errors.js';
import {
  agentRow,
  CONTEXT_COUNTER,
  contextPageOf,
  dashboardRow,
  dispatchItem,
  mergeNewestFirst,
  noteItem,
  tokenRow,
  type AgentRowFields,
  type ContextChangeRow,
  type DispatchRowFields,
  type NoteRowFields,
  type TokenRowFields,
} from './rows.js';
import {
  hubQueries,
  recentDispatchesQuery,
  type HubQueries,
  type Param,
  type SqlValue,
} from './queries.js';
import type {
  AgentRow,
  StoredContextItem,
  ContextPage,
  DashboardDispatchRow,
  DashboardFilter,
  FleetSource,
  HubEngine,
  HubStorage,
  IngestBatch,
  IngestOutcome,
  NoteItem,
  TokenRow,
} from './types.js';

/** The four things the hub storage asks of a database connection. */
export interface HubDb {
  /** Every row the statement returns. */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row the statement returns, or undefined. */
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; resolves with how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs `fn` so that no other statement of this hub interleaves: a `write` is one transaction
   * (rolled back when `fn` throws); a `read` sees one consistent state, which each engine
   * provides in its own way.
   */
  tx<T>(mode: 'read' | 'write', fn: (db: HubDb) => Promise<T>): Promise<T>;
}

/** What an engine brings to {@link SqlHubStorage}. */
export interface HubEngineAdapter {
  readonly engine: HubEngine;
  readonly location: string;
  readonly schemaVersion: number;
  readonly db: HubDb;
  /** Places parameters in the engine's syntax. */
  readonly param: Param;
  /** True when the engine binds arrays, so a set of keys is one `= ANY` statement, not a loop. */
  readonly arrays: boolean;
  /** Applies one push in one transaction (each engine batches it its own way). */
  ingest(batch: IngestBatch): Promise<IngestOutcome>;
  /** See {@link HubStorage.fleetSource}. */
  fleetSource(): Promise<FleetSource>;
  close(): Promise<void>;
}

/** The hub storage of both engines: the same statements, over an engine's {@link HubDb}. */
export class SqlHubStorage implements HubStorage {
  readonly engine: HubEngine;
  readonly location: string;
  readonly schemaVersion: number;
  private readonly sql: HubQueries;
  private closed = false;

  constructor(private readonly adapter: HubEngineAdapter) {
    this.engine = adapter.engine;
    this.location = adapter.location;
    this.schemaVersion = adapter.schemaVersion;
    this.sql = hubQueries(adapter.param);
  }

  async addToken(token: TokenRow): Promise<void> {
    const { tokenHash, agentId, admin, createdAt } = token;
    await this.db().run(this.sql.addToken, [tokenHash, agentId, admin, createdAt]);
  }

  async findToken(tokenHash: string): Promise<TokenRow | undefined> {
    const row = await this.db().get<TokenRowFields>(this.sql.findToken, [tokenHash]);
    return row === undefined ? undefined : tokenRow(row);
  }

  async listTokens(): Promise<TokenRow[]> {
    return (await this.db().all<TokenRowFields>(this.sql.listTokens)).map(tokenRow);
  }

  async removeTokens(tokenHashes: readonly string[]): Promise<number> {
    if (tokenHashes.length === 0) return 0;
    if (this.adapter.arrays) return this.db().run(this.sql.removeTokens, [[...tokenHashes]]);
    return this.db().tx('write', async (tx) => {
      let removed = 0;
      for (const hash of tokenHashes) removed += await tx.run(this.sql.removeToken, [hash]);
      return removed;
    });
  }

  async ingest(batch: IngestBatch): Promise<IngestOutcome> {
    this.db();
    return this.adapter.ingest(batch);
  }

  async context(
    agentId: string,
    since: string | undefined,
    limit: number,
  ): Promise<StoredContextItem[]> {
    const params = [agentId, since ?? '', limit];
    const [dispatches, notes] = await Promise.all([
      this.db().all<DispatchRowFields>(this.sql.contextDispatches, params),
      this.db().all<NoteRowFields>(this.sql.contextNotes, params),
    ]);
    return mergeNewestFirst(dispatches.map(dispatchItem), notes.map(noteItem), limit);
  }

  async contextPage(
    agentId: string,
    after: number,
    since: string | undefined,
    limit: number,
  ): Promise<ContextPage> {
    // The counter is read first: every change up to it was committed before the change query
    // reads (writers hold the counter row until they commit).
    return this.db().tx('read', async (tx) => {
      const counter = await tx.get<{ value: number | string }>(this.sql.counter, [CONTEXT_COUNTER]);
      const top = Number(counter?.value ?? 0);
      const from = after > top ? 0 : after;
      const rows = await tx.all<ContextChangeRow>(this.sql.contextChanges, [
        from,
        agentId,
        since ?? '',
        limit + 1,
      ]);
      return contextPageOf(rows, from, top, limit);
    });
  }

  async contextCount(agentId: string): Promise<number> {
    return (await this.db().get<{ n: number }>(this.sql.contextCount, [agentId]))?.n ?? 0;
  }

  async addNote(note: {
    text: string;
    agentId: string | null;
    extra: Record<string, unknown>;
    createdAt: string;
  }): Promise<NoteItem> {
    const json = JSON.stringify({ ...note.extra, text: note.text });
    const row = await this.db().tx('write', async (tx) => {
      // The counter row stays locked until COMMIT, so changes commit in counter order.
      const seq = (
        await tx.get<{ value: number | string }>(this.sql.bumpCounter, [CONTEXT_COUNTER])
      )?.value;
      if (seq === undefined)
        throw new AgenticError('INTERNAL', 'the hub change counter is missing');
      return tx.get<NoteRowFields>(this.sql.addNote, [note.agentId, json, note.createdAt, seq]);
    });
    if (row === undefined) throw new AgenticError('INTERNAL', 'INSERT … RETURNING returned no row');
    return noteItem(row);
  }

  async recordPull(agentId: string, at: string): Promise<void> {
    await this.db().run(this.sql.recordPull, [agentId, at]);
  }

  async agent(agentId: string): Promise<AgentRow | undefined> {
    const row = await this.db().get<AgentRowFields>(this.sql.agent, [agentId]);
    return row === undefined ? undefined : agentRow(row);
  }

  async agents(): Promise<AgentRow[]> {
    return (await this.db().all<AgentRowFields>(this.sql.agents)).map(agentRow);
  }

  async statusCounts(agentId?: string): Promise<Record<string, number>> {
    const rows = await this.db().all<{ status: string | null; n: number }>(this.sql.statusCounts, [
      agentId ?? null,
    ]);
    return Object.fromEntries(rows.map((r) => [r.status ?? 'unknown', r.n]));
  }

  async recentDispatches(filter: DashboardFilter): Promise<DashboardDispatchRow[]> {
    const { sql, params } = recentDispatchesQuery(this.adapter.param, filter);
    return (await this.db().all<DispatchRowFields>(sql, params)).map(dashboardRow);
  }

  async pruneIdempotency(before: string): Promise<number> {
    return this.db().run(this.sql.pruneIdempotency, [before]);
  }

  async versionCount(): Promise<number> {
    return (await this.db().get<{ n: number }>(this.sql.versionCount))?.n ?? 0;
  }

  async fleetSource(): Promise<FleetSource> {
    this.db();
    return this.adapter.fleetSource();
  }

  async ping(): Promise<void> {
    await this.db().get(this.sql.ping);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.adapter.close();
  }

  private db(): HubDb {
    if (this.closed) throw new AgenticError('STORE_UNAVAILABLE', 'the hub database is closed');
    return this.adapter.db;
  }
}
