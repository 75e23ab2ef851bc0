import { byteOrder } from '../lib/text.js';

/**
 * The state groups (docs/ARCHITECTURE.md, where state lives), plus the port's own bookkeeping groups.
 * `queue`, `running`, `concurrency` and `uncommitted` must stay pure functions of the `registry`
 * records (and the commit markers): the file engine computes them instead of storing them.
 */
export const GROUPS = {
  registry: 'registry',
  queue: 'queue',
  concurrency: 'concurrency',
  runtime: 'runtime',
  dispatchHistory: 'dispatch_history',
  syncQueue: 'sync_queue',
  syncDropped: 'sync_dropped',
  syncLedger: 'sync_ledger',
  syncState: 'sync_state',
  syncHistory: 'sync_history',
  /**
   * Committed versions not yet queued for the hub, written with their journal line:
   * `<name>#<fingerprint>` → the line with `id` and `fingerprint`. The sync collector moves them
   * into the queue, so a version replaced before a push still reaches the hub.
   */
  syncVersions: 'sync_versions',
  runner: 'runner',
  /** Terminal records not yet committed to the journal: name → fingerprint. */
  uncommitted: 'uncommitted',
  /** Records in `running`: name → agent. Hydrate reaps dead agents before it reads the registry. */
  running: 'running',
  /** Fleet node registry: node id → its lease (src/fleet/membership.ts). */
  nodes: 'nodes',
  /**
   * Fleet requests one node makes of another (src/dispatch/owner-intents.ts): id → the request,
   * then its answer. Short-lived: the requester deletes its entry, the owner drops stale ones.
   */
  intents: 'intents',
  /**
   * Settings shared by every node (fleet mode only): `fleet` → pool limits, rates and failure
   * back-off with a version (src/fleet/settings.ts); the embedded engines never write it.
   */
  settings: 'settings',
} as const;

/** A state group name. */
export type Group = (typeof GROUPS)[keyof typeof GROUPS];

/** Which engine backs a store; `files` is degraded mode's (src/store/files/). */
export type EngineName = 'sqlite' | 'postgres' | 'files';

/**
 * True when the store is shared by several nodes (PostgreSQL): only then does a record's `node`
 * decide who may judge and touch it. The embedded SQLite store has one node, so every record
 * there is this node's, whatever id it was written under.
 */
export function isFleet(store: { engine: EngineName }): boolean {
  return store.engine === 'postgres';
}

/** Group operations; inside a transaction they all see and change the same snapshot. */
export interface StoreOps {
  /** The JSON value at group/key, or undefined. */
  get(group: Group, key: string): Promise<unknown>;
  /** Upserts a JSON-serialisable value. */
  set(group: Group, key: string, value: unknown): Promise<void>;
  /** Deletes a key; deleting an unknown key is a no-op. */
  delete(group: Group, key: string): Promise<void>;
  /** Number of keys in a group. */
  count(group: Group): Promise<number>;
  /**
   * Every entry of a group, ordered by key; with `page`, at most `limit` of them, starting after
   * the key `after`. A caller reading a large group page by page lets other work run between
   * pages (the pages are separate reads, not one snapshot).
   */
  entries(group: Group, page?: EntriesPage): Promise<Array<[string, unknown]>>;
  /**
   * Up to `limit` entries of the `queue` group in claim order (docs/ARCHITECTURE.md): `priority` high
   * first, then `queued_at` oldest first, then name — a value without a numeric priority sorts
   * as 0, one without a string queued_at as ''. The page starts after the row whose `cursor`
   * is given and leaves out entries whose agent's pool is in `skipPools` and, with `node`, entries
   * pinned (`node_affinity`) to another node, so pinned work cannot fill a page. The claim reads the
   * head of a long queue instead of all of it, and a pool left out costs one index seek.
   */
  queuePage(page: QueuePageRequest): Promise<QueueRow[]>;
  /** Appends a stats row once per (workspace, fingerprint); a repeat is ignored (the file engine keeps none). */
  addStats(row: StatsRow): Promise<void>;
}

/** One page of {@link StoreOps.entries}. */
export interface EntriesPage {
  limit: number;
  after?: string | undefined;
}

/** Where a queue page starts and what it leaves out; see {@link StoreOps.queuePage}. */
export interface QueuePageRequest {
  limit: number;
  after?: QueueCursor | undefined;
  skipPools?: readonly string[] | undefined;
  /** The claiming node: entries pinned to any other node are left out. Absent: no filter. */
  node?: string | undefined;
}

/** A queue entry's place in claim order: negated priority, queued_at, name. */
export type QueueCursor = readonly [number, string, string];

/** Claim order of two cursors, strings in byte order as both engines' indexes sort them. */
export function compareQueueCursors(a: QueueCursor, b: QueueCursor): number {
  return a[0] - b[0] || byteOrder(a[1], b[1]) || byteOrder(a[2], b[2]);
}

/** A pool's limits as a one-call claim counts them: a total, plus optional per-model sub-limits. */
export interface ClaimLimits {
  total: number;
  models: Readonly<Record<string, number>>;
}

/** Claims and run ends as single server-side calls; see {@link StateStore.oneCall}. */
export interface OneCallOps {
  /** Values of several keys in one read, without locking them: `<group>/<key>` → value. */
  read(keys: ReadonlyArray<readonly [Group, string]>): Promise<Map<string, unknown>>;
  claim(request: QueueClaimRequest): Promise<QueueClaimResult>;
  /**
   * Replaces running records with what their runs' ends made of them, each only if it is still
   * the version the caller decided on and runs on `node`; the derived groups follow as a status
   * change through track makes them follow. Returns the stamped records; the others were missed.
   */
  end(node: string, now: string, items: readonly RunEndWrite[]): Promise<RunEndResult>;
}

/** What {@link OneCallOps.claim} is asked to claim. */
export interface QueueClaimRequest {
  /** The claiming node: work pinned to another node is left alone. */
  node: string;
  max: number;
  /** Now, as the ISO stamp claimed records get (1 ms after their previous stamp if not later). */
  now: string;
  /** Pools the caller keeps closed (paused, or rate-limited and claimed the slow way). */
  skipPools: readonly string[];
  /** Limits of the pools named, and of every other pool. */
  limits: { default: ClaimLimits; pools: Readonly<Record<string, ClaimLimits>> };
}

/** What a one-call claim did. */
export interface QueueClaimResult {
  /** Dispatching is frozen: nothing was claimed. */
  frozen: boolean;
  /** The claimed workspaces, now `running` on the node, with their new registry values. */
  claims: Array<{ name: string; value: unknown }>;
  /** The pools of `skipPools` that hold work this node could claim. */
  waitingPools: string[];
}

/** One run end for {@link OneCallOps.end}. */
export interface RunEndWrite {
  name: string;
  /** The `updated_at` of the running record the end was decided on. */
  seen: string;
  /** The new record, stamped by the store. */
  record: unknown;
  /** Its queue entry when it is queued again. */
  queue?: unknown;
  /** True when the new status is terminal (it is then listed in `uncommitted`). */
  terminal: boolean;
}

/** What a one-call run end wrote: the stamped records, and the names whose record had changed. */
export interface RunEndResult {
  ended: Map<string, unknown>;
  missed: string[];
}

/** One queue entry as a page returns it. */
export interface QueueRow {
  name: string;
  value: unknown;
  cursor: QueueCursor;
}

/**
 * Running counts of one pool, as kept in the `concurrency` group. The group is derived: it
 * follows from the `running` records alone (the file engine computes it instead of storing it).
 */
export interface ConcurrencySnapshot {
  running: number;
  limit: number;
  snapshot_at: string;
  /** Running count per model (agent strings with a `:model`). */
  models: Record<string, number>;
}

/** Rows of the dispatch statistics table written by commit. */
export interface StatsRow {
  workspace: string;
  repo: string;
  org: string;
  agent: string;
  model: string | null;
  outcome: string;
  runs: number;
  duration_ms: number | null;
  started_at: string | null;
  ended_at: string;
  committed_at: string;
  /** `<updated_at>#<runs>` of the committed version; a row is stored once per workspace and fingerprint. */
  fingerprint: string;
}

/** Filters for reading stats rows; newest first. */
export interface StatsQuery {
  repo?: string | undefined;
  outcome?: string | undefined;
  limit?: number | undefined;
}

/** A transaction that resolved at COMMIT (see {@link StateStore.commitEarly}). */
export interface EarlyCommit<T> {
  result: T;
  /** Settles once the commit is on disk and its `then` has run; rejects when either failed. */
  durable: Promise<void>;
}

/**
 * The authoritative state store (docs/ARCHITECTURE.md). Every engine implements the same behaviour;
 * in degraded mode the file engine (src/store/files/) keeps the state in the JSON files.
 */
export interface StateStore extends StoreOps {
  readonly engine: EngineName;
  /** True when the configured engine could not be opened and the file engine stands in for it. */
  readonly degraded: boolean;
  /**
   * True when the engine itself writes status.json, runtime/dispatch.json and runtime/frozen
   * (durably, at commit): callers then write no mirrors of their own, which would replace the
   * only, fsynced copy with an unsynced one. False for the SQL engines, whose files are mirrors.
   */
  readonly ownsStateFiles: boolean;
  /** Why the store is degraded (or was rebuilt); undefined when healthy. */
  readonly reason: string | undefined;
  /** Where the data lives: a file path, or a redacted URL. */
  readonly location: string;
  /** Applied schema version (0 for the file engine, which has no schema). */
  readonly schemaVersion: number;
  /** Runs `fn` in one serialisable transaction, across processes too; rolls back if it throws. */
  transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T>;
  /**
   * Switches this process's writes to group commit: still durable before they resolve, but the
   * fsync runs on the thread pool and writes committed meanwhile share it. For a process that
   * serves many activities at once (the runner); a one-shot client is faster with the default,
   * an fsync in place. Engines whose server does its own syncing leave this out.
   */
  groupCommit?(): void;
  /**
   * Under group commit only: runs `fn` as {@link transaction} does but resolves at COMMIT,
   * while the fsync is still to come. The changes are visible to every reader from COMMIT;
   * `then` runs once they are on disk, after the `then` of every earlier commit. A caller does
   * what needs no durability meanwhile (a clone) and waits for `durable` before it acts on the
   * commit outside the store (spawns an agent, writes a journal line). Engines whose COMMIT is
   * already durable leave this out.
   */
  commitEarly?<T>(
    fn: (tx: StoreOps) => Promise<T>,
    then: () => Promise<void>,
  ): Promise<EarlyCommit<T>>;
  /**
   * Fleet wake-ups: tells every node listening that work may be claimable (queued, or a slot
   * freed). Engines without other nodes to tell leave this out.
   */
  notifyWake?(): Promise<void>;
  /**
   * Calls `onWake` for every {@link notifyWake} of any node (and once after each reconnect, for
   * what may have been missed); resolves to a function that stops listening.
   */
  listenWakes?(onWake: () => void): Promise<() => Promise<void>>;
  /**
   * Claims and run ends in one server-side call each (PostgreSQL): the shared rows they must
   * check (the frozen flag, each pool's running counter) are held for that call only, never
   * across client round trips, so claims and run ends on every node proceed side by side.
   * Engines with one writer leave this out; claims and ends then run as ordinary transactions.
   */
  readonly oneCall?: OneCallOps;
  /** Reads stats rows, newest first. */
  queryStats(query: StatsQuery): Promise<StatsRow[]>;
  /** Releases the engine; safe to call more than once, and on a store never used. */
  close(): Promise<void>;
}
