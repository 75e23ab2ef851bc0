import type { EntryTiming } from '../queue/gate.js';
import type { DroppedEntry, HistoryRecord, Lease, PushEntry, SyncMarks } from '../schema.js';

/** How many sync history records are kept (README: Sync). */
export const HISTORY_LIMIT = 100;

/**
 * The sync state seen inside one serialised read-modify-write: the queue, the dead-letter list,
 * the ledger, the history, the push/pull marks and the `dispatch_history` group. Two backends
 * implement it: the state store (healthy) and the JSON files under a lock file (degraded).
 */
export interface SyncTx {
  /** Queued pushes, oldest first (by `queued_at`, then id). */
  listQueue(): Promise<PushEntry[]>;
  getQueue(id: string): Promise<PushEntry | undefined>;
  /** Whether entry `id` is still queued (no payload validation). */
  hasQueue(id: string): Promise<boolean>;
  putQueue(entry: PushEntry): Promise<void>;
  /** Deletes an entry and its lease. */
  deleteQueue(id: string): Promise<void>;
  /** Entry ids and timing, oldest first, without validating their payload (cheap for a large queue). */
  queueHeads(): Promise<EntryTiming[]>;
  getLease(id: string): Promise<Lease | undefined>;
  setLease(id: string, lease: Lease): Promise<void>;
  clearLease(id: string): Promise<void>;
  /** Dropped pushes, oldest first. */
  listDropped(): Promise<DroppedEntry[]>;
  putDropped(entry: DroppedEntry): Promise<void>;
  deleteDropped(id: string): Promise<void>;
  /** id → fingerprint of the last successful push. */
  ledger(): Promise<Map<string, string>>;
  setLedger(id: string, fingerprint: string): Promise<void>;
  /** Sync history, oldest first, at most {@link HISTORY_LIMIT}. */
  history(): Promise<HistoryRecord[]>;
  /** Appends a record and forgets the oldest beyond {@link HISTORY_LIMIT}. */
  appendHistory(record: HistoryRecord): Promise<void>;
  marks(): Promise<SyncMarks>;
  setMarks(patch: SyncMarks): Promise<void>;
  /** Committed versions waiting to be queued (`sync_versions`, key → record; always empty when degraded). */
  pendingVersions(): Promise<Array<[string, unknown]>>;
  /** Forgets a waiting version once it is queued (or cannot be). */
  deleteVersion(key: string): Promise<void>;
  /** Every `dispatch_history` entry (always empty when degraded: the store holds that group). */
  dispatchHistory(): Promise<Array<[string, unknown]>>;
  /** Sets `synced: true` on a `dispatch_history` record when its fingerprint is still `fingerprint`. */
  markSynced(id: string, fingerprint: string): Promise<void>;
}

/**
 * When the mirror files are written: `dirty` writes every file whose data changed; `defer`
 * postpones all but dropped.json to a later `all`, which rewrites them from the authoritative
 * state (a send pass defers per entry and writes once at its end). A deferred queue.json only
 * ever holds more (already delivered) entries than the store, never fewer, and the hub is
 * idempotent; a deferred ledger.json at worst causes a version to be pushed again.
 */
export type MirrorMode = 'dirty' | 'defer' | 'all';

/** Runs sync read-modify-writes one at a time, across processes too. */
export interface SyncState {
  /** True when the JSON files carry the state (the store could not be opened). */
  readonly degraded: boolean;
  /** Runs `fn` serialised against every other sync change; rolls back store changes if it throws. Must not do network I/O. */
  run<T>(fn: (tx: SyncTx) => Promise<T>, mirror?: MirrorMode): Promise<T>;
}

/** Queue order: `queued_at`, then id (ids embed a sequence number, so entries of one collection keep their order). */
export function byQueueOrder(a: PushEntry, b: PushEntry): number {
  if (a.queued_at !== b.queued_at) return a.queued_at < b.queued_at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
