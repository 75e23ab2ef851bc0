import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { EntryTiming } from '../queue/gate.js';
import { readJsonFile, removeFile, writeJsonFile, type SyncPaths } from './files.js';
import { withLockFile } from '../../lib/lock-file.js';
import {
  droppedEntrySchema,
  historyRecordSchema,
  pushEntrySchema,
  syncMarksSchema,
  type DroppedEntry,
  type HistoryRecord,
  type Lease,
  type PushEntry,
  type SyncMarks,
} from '../schema.js';
import { byQueueOrder, HISTORY_LIMIT, type SyncTx, type SyncState } from './tx.js';

/**
 * Sync state in the JSON files alone, for when the store is degraded: each run holds
 * `sync/queue.lock`, reads the files it needs, and rewrites the ones it changed (fsync'd:
 * they are the only copy). Entries written here are marked `degraded` so a later healthy
 * store imports them.
 */
export function fileSyncState(paths: SyncPaths, io: { clock: Clock; logger: Logger }): SyncState {
  return {
    degraded: true,
    run: (fn) =>
      withLockFile(
        paths.lock,
        async () => {
          const tx = new FileSyncTx(paths, { now: io.clock.now(), logger: io.logger });
          const result = await fn(tx);
          tx.flush();
          return result;
        },
        { name: 'sync queue lock' },
      ),
  };
}

class FileSyncTx implements SyncTx {
  private queue: Map<string, PushEntry> | undefined;
  private dropped: Map<string, DroppedEntry> | undefined;
  private ledgerMap: Map<string, string> | undefined;
  private records: HistoryRecord[] | undefined;
  private marksValue: SyncMarks | undefined;
  private readonly dirty = new Set<'queue' | 'dropped' | 'ledger' | 'history' | 'marks'>();

  constructor(
    private readonly paths: SyncPaths,
    private readonly io: { now: Date; logger: Logger },
  ) {}

  async listQueue(): Promise<PushEntry[]> {
    return [...this.loadQueue().values()].sort(byQueueOrder);
  }
  async getQueue(id: string): Promise<PushEntry | undefined> {
    return this.loadQueue().get(id);
  }
  async hasQueue(id: string): Promise<boolean> {
    return this.loadQueue().has(id);
  }
  async putQueue(entry: PushEntry): Promise<void> {
    this.loadQueue().set(entry.id, { ...entry, degraded: true });
    this.dirty.add('queue');
  }
  async deleteQueue(id: string): Promise<void> {
    this.loadQueue().delete(id);
    this.dirty.add('queue');
  }
  async queueHeads(): Promise<EntryTiming[]> {
    return (await this.listQueue()).map((e) => ({
      id: e.id,
      next_attempt: e.next_attempt,
      failed_at: e.failed_at,
      throttled: e.throttled,
    }));
  }
  async getLease(id: string): Promise<Lease | undefined> {
    const entry = this.loadQueue().get(id);
    return entry?.lease_owner !== undefined && entry.lease_until !== undefined
      ? { owner: entry.lease_owner, until: entry.lease_until }
      : undefined;
  }
  async setLease(id: string, lease: Lease): Promise<void> {
    const entry = this.loadQueue().get(id);
    if (entry === undefined) return;
    this.loadQueue().set(id, { ...entry, lease_owner: lease.owner, lease_until: lease.until });
    this.dirty.add('queue');
  }
  async clearLease(id: string): Promise<void> {
    const entry = this.loadQueue().get(id);
    if (entry === undefined || entry.lease_owner === undefined) return;
    const { lease_owner: _o, lease_until: _u, ...rest } = entry;
    this.loadQueue().set(id, rest);
    this.dirty.add('queue');
  }

  async listDropped(): Promise<DroppedEntry[]> {
    return [...this.loadDropped().values()].sort(byQueueOrder);
  }
  async putDropped(entry: DroppedEntry): Promise<void> {
    this.loadDropped().set(entry.id, entry);
    this.dirty.add('dropped');
  }
  async deleteDropped(id: string): Promise<void> {
    this.loadDropped().delete(id);
    this.dirty.add('dropped');
  }

  async ledger(): Promise<Map<string, string>> {
    return new Map(this.loadLedger());
  }
  async setLedger(id: string, fingerprint: string): Promise<void> {
    this.loadLedger().set(id, fingerprint);
    this.dirty.add('ledger');
  }

  async history(): Promise<HistoryRecord[]> {
    return [...this.loadHistory()];
  }
  async appendHistory(record: HistoryRecord): Promise<void> {
    const records = this.loadHistory();
    records.push(record);
    records.splice(0, Math.max(0, records.length - HISTORY_LIMIT));
    this.dirty.add('history');
  }

  async marks(): Promise<SyncMarks> {
    this.marksValue ??= readJsonFile(this.paths.marks, syncMarksSchema, this.io) ?? {};
    return { ...this.marksValue };
  }
  async setMarks(patch: SyncMarks): Promise<void> {
    this.marksValue = { ...(await this.marks()), ...patch };
    this.dirty.add('marks');
  }

  async pendingVersions(): Promise<Array<[string, unknown]>> {
    return [];
  }
  async deleteVersion(): Promise<void> {}
  async dispatchHistory(): Promise<Array<[string, unknown]>> {
    return [];
  }
  async markSynced(): Promise<void> {}

  /** Writes every changed file (the queue, dropped list and ledger are removed when empty). */
  flush(): void {
    const write = (path: string, value: unknown, empty: boolean): void => {
      if (empty) removeFile(path);
      else writeJsonFile(path, value, true);
    };
    if (this.dirty.has('queue') && this.queue) {
      const queue = [...this.queue.values()].sort(byQueueOrder);
      write(this.paths.queue, queue, queue.length === 0);
    }
    if (this.dirty.has('dropped') && this.dropped) {
      const dropped = [...this.dropped.values()].sort(byQueueOrder);
      write(this.paths.dropped, dropped, dropped.length === 0);
    }
    if (this.dirty.has('ledger') && this.ledgerMap)
      write(this.paths.ledger, Object.fromEntries(this.ledgerMap), this.ledgerMap.size === 0);
    if (this.dirty.has('history') && this.records) write(this.paths.history, this.records, false);
    if (this.dirty.has('marks') && this.marksValue) write(this.paths.marks, this.marksValue, false);
  }

  private loadQueue(): Map<string, PushEntry> {
    this.queue ??= new Map(
      (readJsonFile(this.paths.queue, z.array(pushEntrySchema), this.io) ?? []).map((e) => [
        e.id,
        e,
      ]),
    );
    return this.queue;
  }
  private loadDropped(): Map<string, DroppedEntry> {
    this.dropped ??= new Map(
      (readJsonFile(this.paths.dropped, z.array(droppedEntrySchema), this.io) ?? []).map((e) => [
        e.id,
        e,
      ]),
    );
    return this.dropped;
  }
  private loadLedger(): Map<string, string> {
    this.ledgerMap ??= new Map(
      Object.entries(
        readJsonFile(this.paths.ledger, z.record(z.string(), z.string()), this.io) ?? {},
      ),
    );
    return this.ledgerMap;
  }
  private loadHistory(): HistoryRecord[] {
    this.records ??= readJsonFile(this.paths.history, z.array(historyRecordSchema), this.io) ?? [];
    return this.records;
  }
}
