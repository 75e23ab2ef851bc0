import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { GROUPS, type StoreOps } from '../../store/index.js';
import {
  historyRecordSchema,
  pushEntrySchema,
  type DroppedEntry,
  type HistoryRecord,
  type PushEntry,
  type SyncMarks,
} from '../schema.js';
import { readJsonFile, removeFile, writeJsonFile, type SyncPaths } from './files.js';
import type { MirrorMode } from './tx.js';

/** What the mirror files are written from: the transaction's view of the sync state. */
export interface MirrorSource {
  rawQueue(): Promise<Array<{ id: string; value: unknown }>>;
  ledger(): Promise<Map<string, string>>;
  listDropped(): Promise<DroppedEntry[]>;
  history(): Promise<HistoryRecord[]>;
  marks(): Promise<SyncMarks>;
}

/**
 * Moves queue.json entries the store lacks into it: those queued while the store was degraded
 * (`only: 'degraded'`, once per process), or every one after a damaged database was replaced and
 * its queue lost with it (`'all'`). Returns how many were moved.
 */
export async function importQueueMirror(
  ops: StoreOps,
  paths: SyncPaths,
  clockIo: { clock: Clock; logger: Logger },
  only: 'degraded' | 'all',
): Promise<number> {
  const io = { now: clockIo.clock.now(), logger: clockIo.logger };
  const fileEntries = readJsonFile(paths.queue, z.array(pushEntrySchema), io) ?? [];
  let count = 0;
  for (const entry of fileEntries) {
    if (only === 'degraded' && entry.degraded !== true) continue;
    if ((await ops.get(GROUPS.syncQueue, entry.id)) !== undefined) continue;
    await ops.set(GROUPS.syncQueue, entry.id, storedQueueEntry(entry));
    count += 1;
  }
  if (count > 0)
    io.logger.info(
      { entries: count },
      only === 'degraded'
        ? 'imported sync entries queued while degraded'
        : 'restored the sync queue from queue.json',
    );
  return count;
}

/** A queue entry as the store keeps it: leases live apart, and it is no longer degraded. */
export function storedQueueEntry(
  entry: PushEntry,
): Omit<PushEntry, 'degraded' | 'lease_owner' | 'lease_until'> {
  const { degraded: _d, lease_owner: _o, lease_until: _u, ...stored } = entry;
  return stored;
}

/** Writes the mirror files for one transaction's changes (see {@link MirrorMode}). */
export async function writeMirrors(
  tx: MirrorSource,
  paths: SyncPaths,
  dirty: Record<'queue' | 'ledger' | 'dropped' | 'history' | 'marks', boolean>,
  mode: MirrorMode,
): Promise<void> {
  if (dirty.queue ? mode !== 'defer' : mode === 'all') {
    // The mirror is a copy of what the store holds: no need to validate every record again.
    const queue = await tx.rawQueue();
    if (queue.length === 0) removeFile(paths.queue);
    else
      writeJsonFile(
        paths.queue,
        queue.map((e) => e.value),
        false,
      );
  }
  if (dirty.ledger ? mode !== 'defer' : mode === 'all') {
    const ledger = await tx.ledger();
    if (ledger.size === 0) removeFile(paths.ledger);
    else writeJsonFile(paths.ledger, Object.fromEntries(ledger), false);
  }
  if (dirty.dropped) {
    const dropped = await tx.listDropped();
    if (dropped.length === 0) removeFile(paths.dropped);
    else writeJsonFile(paths.dropped, dropped, false);
  }
  if (dirty.history ? mode !== 'defer' : mode === 'all')
    writeJsonFile(paths.history, await tx.history(), false);
  if (dirty.marks ? mode !== 'defer' : mode === 'all')
    writeJsonFile(paths.marks, await tx.marks(), false);
}

/** The stored history records with their keys (which sort by time); invalid ones are skipped. */
export async function historyEntries(ops: StoreOps): Promise<Array<[string, HistoryRecord]>> {
  const out: Array<[string, HistoryRecord]> = [];
  for (const [key, value] of await ops.entries(GROUPS.syncHistory)) {
    const parsed = historyRecordSchema.safeParse(value);
    if (parsed.success) out.push([key, parsed.data]);
  }
  return out;
}
