import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { GROUPS, type Group, type StateStore, type StoreOps } from '../../store/index.js';
import { fingerprintOf } from '../../workspace/index.js';
import type { EntryTiming } from '../queue/gate.js';
import type { SyncPaths } from './files.js';
import {
  historyEntries,
  importQueueMirror,
  storedQueueEntry,
  writeMirrors,
} from './store-mirrors.js';
import {
  droppedEntrySchema,
  leaseSchema,
  pushEntrySchema,
  syncMarksSchema,
  type DroppedEntry,
  type HistoryRecord,
  type Lease,
  type PushEntry,
  type SyncMarks,
} from '../schema.js';
import { byQueueOrder, HISTORY_LIMIT, type MirrorMode, type SyncTx, type SyncState } from './tx.js';

const MARKS_KEY = 'status';
const LEASE_PREFIX = 'lease:';

/**
 * Sync state in the store's groups (`sync_queue`, `sync_dropped`, `sync_ledger`,
 * `sync_history`, `sync_state` with the marks under `status` and entry leases under
 * `lease:<entry id>`, apart so taking a lease does not rewrite the entry), each change inside one store transaction, with the JSON
 * mirrors written while the transaction still holds the write lock. The first run imports
 * entries that were queued into queue.json while the store was degraded.
 */
export function storeSyncState(
  store: StateStore,
  paths: SyncPaths,
  io: { clock: Clock; logger: Logger },
): SyncState {
  let imported = false;
  return {
    degraded: false,
    run: (fn, mirror = 'dirty') =>
      store.transaction(async (ops) => {
        const tx = new StoreSyncTx(ops, paths, io);
        if (!imported) {
          await tx.importDegradedQueue();
          imported = true;
        }
        const result = await fn(tx);
        await tx.writeMirrors(mirror);
        return result;
      }),
  };
}

let historySeq = 0;

class StoreSyncTx implements SyncTx {
  private queueDirty = false;
  /** The queue group as read once in this transaction and changed since (values as stored). */
  private queueCache: Map<string, unknown> | undefined;
  private ledgerDirty = false;
  private droppedDirty = false;
  private historyDirty = false;
  private marksDirty = false;
  /** The marks as read (or last written) in this transaction. */
  private marksCache: SyncMarks | undefined;

  constructor(
    private readonly ops: StoreOps,
    private readonly paths: SyncPaths,
    private readonly io: { clock: Clock; logger: Logger },
  ) {}

  async listQueue(): Promise<PushEntry[]> {
    const out: PushEntry[] = [];
    for (const { id, value } of await this.rawQueue()) {
      const parsed = pushEntrySchema.safeParse(value);
      if (parsed.success) out.push(parsed.data);
      else
        this.io.logger.warn(
          { group: GROUPS.syncQueue, key: id, issue: parsed.error.issues[0]?.message },
          'skipping invalid sync entry',
        );
    }
    return out.sort(byQueueOrder);
  }
  async getQueue(id: string): Promise<PushEntry | undefined> {
    return this.one(GROUPS.syncQueue, id, pushEntrySchema);
  }
  async hasQueue(id: string): Promise<boolean> {
    return (await this.ops.get(GROUPS.syncQueue, id)) !== undefined;
  }
  async putQueue(entry: PushEntry): Promise<void> {
    const stored = storedQueueEntry(entry);
    await this.ops.set(GROUPS.syncQueue, entry.id, stored);
    this.queueCache?.set(entry.id, stored);
    this.queueDirty = true;
  }
  async deleteQueue(id: string): Promise<void> {
    await this.ops.delete(GROUPS.syncQueue, id);
    this.queueCache?.delete(id);
    await this.ops.delete(GROUPS.syncState, LEASE_PREFIX + id);
    this.queueDirty = true;
  }
  async queueHeads(): Promise<EntryTiming[]> {
    return (await this.rawQueue()).map(({ id, value }) => timingOf(id, value));
  }
  async getLease(id: string): Promise<Lease | undefined> {
    const parsed = leaseSchema.safeParse(await this.ops.get(GROUPS.syncState, LEASE_PREFIX + id));
    return parsed.success ? parsed.data : undefined;
  }
  async setLease(id: string, lease: Lease): Promise<void> {
    await this.ops.set(GROUPS.syncState, LEASE_PREFIX + id, lease);
  }
  async clearLease(id: string): Promise<void> {
    await this.ops.delete(GROUPS.syncState, LEASE_PREFIX + id);
  }

  async listDropped(): Promise<DroppedEntry[]> {
    return (await this.valid(GROUPS.syncDropped, droppedEntrySchema)).sort(byQueueOrder);
  }
  async putDropped(entry: DroppedEntry): Promise<void> {
    await this.ops.set(GROUPS.syncDropped, entry.id, entry);
    this.droppedDirty = true;
  }
  async deleteDropped(id: string): Promise<void> {
    await this.ops.delete(GROUPS.syncDropped, id);
    this.droppedDirty = true;
  }

  async ledger(): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    for (const [id, fp] of await this.ops.entries(GROUPS.syncLedger))
      if (typeof fp === 'string') map.set(id, fp);
    return map;
  }
  async setLedger(id: string, fingerprint: string): Promise<void> {
    await this.ops.set(GROUPS.syncLedger, id, fingerprint);
    this.ledgerDirty = true;
  }

  async history(): Promise<HistoryRecord[]> {
    return (await historyEntries(this.ops)).slice(-HISTORY_LIMIT).map(([, record]) => record);
  }
  async appendHistory(record: HistoryRecord): Promise<void> {
    // Keys sort by time, so trimming deletes the oldest.
    const key = `${record.synced_at}_${String(++historySeq % 1e6).padStart(6, '0')}_${randomBytes(3).toString('hex')}`;
    await this.ops.set(GROUPS.syncHistory, key, record);
    // Trimmed in steps of 10 so an append rarely reads the group; readers see the last 100.
    if ((await this.ops.count(GROUPS.syncHistory)) > HISTORY_LIMIT + 10) {
      const keys = (await this.ops.entries(GROUPS.syncHistory)).map(([k]) => k);
      for (const old of keys.slice(0, keys.length - HISTORY_LIMIT))
        await this.ops.delete(GROUPS.syncHistory, old);
    }
    this.historyDirty = true;
  }

  async marks(): Promise<SyncMarks> {
    // Read once per transaction (a booking reads them several times); callers get a copy.
    if (this.marksCache === undefined) {
      const parsed = syncMarksSchema.safeParse(await this.ops.get(GROUPS.syncState, MARKS_KEY));
      this.marksCache = parsed.success ? parsed.data : {};
    }
    return { ...this.marksCache };
  }
  async setMarks(patch: SyncMarks): Promise<void> {
    const next = { ...(await this.marks()), ...patch };
    await this.ops.set(GROUPS.syncState, MARKS_KEY, next);
    this.marksCache = next;
    this.marksDirty = true;
  }

  pendingVersions(): Promise<Array<[string, unknown]>> {
    return this.ops.entries(GROUPS.syncVersions);
  }
  deleteVersion(key: string): Promise<void> {
    return this.ops.delete(GROUPS.syncVersions, key);
  }

  dispatchHistory(): Promise<Array<[string, unknown]>> {
    return this.ops.entries(GROUPS.dispatchHistory);
  }
  async markSynced(id: string, fingerprint: string): Promise<void> {
    const value = await this.ops.get(GROUPS.dispatchHistory, id);
    if (!isRecord(value) || value['synced'] === true) return;
    // The fingerprint's two fields, checked by hand: this runs once per pushed record.
    const updated = value['updated_at'];
    const runs = value['runs'] === undefined ? 0 : value['runs'];
    if (typeof updated !== 'string' || typeof runs !== 'number') return;
    if (!Number.isInteger(runs) || runs < 0) return;
    if (fingerprintOf({ updated_at: updated, runs }) !== fingerprint) return;
    // The value was parsed for this call alone: flag it in place instead of copying it.
    value['synced'] = true;
    await this.ops.set(GROUPS.dispatchHistory, id, value);
  }

  /** Moves entries queued in queue.json while degraded into the store (once per process). */
  async importDegradedQueue(): Promise<void> {
    if ((await importQueueMirror(this.ops, this.paths, this.io, 'degraded')) === 0) return;
    this.queueCache = undefined;
    this.queueDirty = true;
  }

  /** Writes the mirror files for this transaction's changes (see {@link MirrorMode}). */
  async writeMirrors(mode: MirrorMode): Promise<void> {
    const dirty = {
      queue: this.queueDirty,
      ledger: this.ledgerDirty,
      dropped: this.droppedDirty,
      history: this.historyDirty,
      marks: this.marksDirty,
    };
    await writeMirrors(this, this.paths, dirty, mode);
  }

  /** Queue values in queue order, checked only for the fields that order them; read once per transaction. */
  async rawQueue(): Promise<Array<{ id: string; queued_at: string; value: unknown }>> {
    this.queueCache ??= new Map(await this.ops.entries(GROUPS.syncQueue));
    const out: Array<{ id: string; queued_at: string; value: unknown }> = [];
    for (const [id, value] of this.queueCache) {
      const at = (value as { queued_at?: unknown } | null)?.queued_at;
      out.push({ id, queued_at: typeof at === 'string' ? at : '', value });
    }
    return out.sort((a, b) =>
      a.queued_at !== b.queued_at ? (a.queued_at < b.queued_at ? -1 : 1) : a.id < b.id ? -1 : 1,
    );
  }

  private async valid<T>(group: Group, schema: z.ZodType<T>): Promise<T[]> {
    const out: T[] = [];
    for (const [key, value] of await this.ops.entries(group)) {
      const parsed = schema.safeParse(value);
      if (parsed.success) out.push(parsed.data);
      else
        this.io.logger.warn(
          { group, key, issue: parsed.error.issues[0]?.message },
          'skipping invalid sync entry',
        );
    }
    return out;
  }

  private async one<T>(group: Group, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    const value = await this.ops.get(group, key);
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The timing fields of a stored entry, read without validating the (large) payload. */
function timingOf(id: string, value: unknown): EntryTiming {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
  return {
    id,
    next_attempt: str(v['next_attempt']) ?? '',
    failed_at: str(v['failed_at']),
    throttled: v['throttled'] === true,
  };
}
