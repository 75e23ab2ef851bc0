import type { DispatchItem, NoteItem } from '../../protocol/sync-wire.js';
import type { StateStore } from '../../store/index.js';

export type { DispatchItem, NoteItem } from '../../protocol/sync-wire.js';

/** Which database engine backs a hub. */
export type HubEngine = 'sqlite' | 'postgres';

/**
 * A stored token: only its hash. An agent token has an `agentId`; a token without one is an
 * operator (admin) token when `admin`, else a read-only fleet `viewer` token.
 */
export interface TokenRow {
  tokenHash: string;
  agentId: string | null;
  admin: boolean;
  createdAt: string;
}

/** One validated dispatch record of a push, with the columns the hub indexes. */
export interface IngestRecord {
  id: string;
  fingerprint: string;
  /** The whole record as JSON text, stored verbatim. */
  json: string;
  status: string | null;
  org: string | null;
  repo: string | null;
  agent: string | null;
  /** Version order: updated_at in ms, then runs; the higher version becomes the current one. */
  versionMs: number;
  versionRuns: number;
}

/** One push, applied in one transaction. */
export interface IngestBatch {
  agentId: string;
  fleetNodeId: string | null;
  /** The Idempotency-Key header, when the request carried one. */
  idempotencyKey: string | null;
  /** SHA-256 of the request body, to tell a replay from a reused key. */
  requestHash: string;
  receivedAt: string;
  records: IngestRecord[];
}

/** The response body of an accepted push. */
export interface IngestResponse {
  accepted: number;
  duplicates: number;
}

/** What happened to a push: stored now, a replay of an earlier key, or a key reused for a different body. */
export type IngestOutcome =
  | { kind: 'stored'; response: IngestResponse }
  | { kind: 'replayed'; response: IngestResponse }
  | { kind: 'key-reused' };

/** One item of an agent's context as the hub stores it: a dispatch version or an operator note. */
export type StoredContextItem = DispatchItem | NoteItem;

/**
 * One page of an agent's context in change order (oldest change first): `cursor` is where the
 * next page starts, `hasMore` whether one is waiting. A cursor is the hub's own change counter,
 * never a node's clock.
 */
export interface ContextPage {
  items: StoredContextItem[];
  cursor: number;
  hasMore: boolean;
}

/** What the hub has seen of one agent. */
export interface AgentRow {
  agentId: string;
  fleetNodeId: string | null;
  lastPushAt: string | null;
  lastPullAt: string | null;
  dispatches: number;
}

/** A current dispatch row for the dashboard. */
export interface DashboardDispatchRow {
  agentId: string;
  fleetNodeId: string | null;
  id: string;
  receivedAt: string;
  record: Record<string, unknown>;
}

/** Filters of the dashboard's dispatch table; all optional, combined with AND. */
export interface DashboardFilter {
  agentId?: string | undefined;
  status?: string | undefined;
  /** Matches `repo` or `org/repo`. */
  repo?: string | undefined;
  limit: number;
}

/**
 * Where the dashboard's Fleet view reads from: the fleet's state store (the reads the view needs
 * only), or the reason there is none, said to an operator.
 */
export type FleetSource =
  | { store: Pick<StateStore, 'engine' | 'entries' | 'get' | 'count'>; reason?: undefined }
  | { store?: undefined; reason: string };

/**
 * The hub's own database (separate from any dispatcher's state store). SQLite and PostgreSQL
 * implement the same behaviour; every timestamp is passed in from the hub's clock.
 */
export interface HubStorage {
  readonly engine: HubEngine;
  /** A file path, or a URL with its password hidden. */
  readonly location: string;
  readonly schemaVersion: number;
  /** Stores a token hash; throws when the same hash exists (never happens for random tokens). */
  addToken(token: TokenRow): Promise<void>;
  /** The token with this hash, or undefined. */
  findToken(tokenHash: string): Promise<TokenRow | undefined>;
  /** Every stored token, oldest first. */
  listTokens(): Promise<TokenRow[]>;
  /** Deletes the tokens with these hashes (taking effect on the next request); returns how many existed. */
  removeTokens(tokenHashes: readonly string[]): Promise<number>;
  /** Applies a push in one transaction: every record or none, each (agent, id, fingerprint) once, a known key replayed. */
  ingest(batch: IngestBatch): Promise<IngestOutcome>;
  /** Other agents' current dispatches received after `since`, plus notes for this agent, newest first, at most `limit`. */
  context(agentId: string, since: string | undefined, limit: number): Promise<StoredContextItem[]>;
  /**
   * The changes after cursor `after` this agent's context holds (other agents' current
   * dispatches, its notes), oldest first, at most `limit`, received after `since` when given.
   * A cursor beyond the hub's counter (a database restored or replaced) starts from the beginning.
   */
  contextPage(
    agentId: string,
    after: number,
    since: string | undefined,
    limit: number,
  ): Promise<ContextPage>;
  /** How many context items this agent would get without `since` (uncapped). */
  contextCount(agentId: string): Promise<number>;
  /** Stores an operator note and returns it as a context item. */
  addNote(note: {
    text: string;
    agentId: string | null;
    extra: Record<string, unknown>;
    createdAt: string;
  }): Promise<NoteItem>;
  /** Records that an agent pulled its context at `at`. */
  recordPull(agentId: string, at: string): Promise<void>;
  /** One agent's row, or undefined when the hub never heard from it. */
  agent(agentId: string): Promise<AgentRow | undefined>;
  /** Every agent the hub has heard from, by agent id. */
  agents(): Promise<AgentRow[]>;
  /** Current dispatches per status, across the fleet or of one agent. */
  statusCounts(agentId?: string): Promise<Record<string, number>>;
  /** Current dispatches matching the filter, most recently received first. */
  recentDispatches(filter: DashboardFilter): Promise<DashboardDispatchRow[]>;
  /** Deletes Idempotency-Key entries created before `before`; returns how many. */
  pruneIdempotency(before: string): Promise<number>;
  /** Total stored dispatch versions (for operators and benchmarks: duplicates would show here). */
  versionCount(): Promise<number>;
  /** The fleet's state store when it shares the hub's database, else why there is none to show. */
  fleetSource(): Promise<FleetSource>;
  /** Resolves when the database answers a trivial query; throws otherwise. */
  ping(): Promise<void>;
  /** Releases the database; safe to call more than once. */
  close(): Promise<void>;
}
