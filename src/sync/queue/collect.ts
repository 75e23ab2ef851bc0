import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isoUtc } from '../../lib/clock.js';
import { AgenticError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { fingerprintOf } from '../../workspace/index.js';
import type { PushRecord, PushEntry } from '../schema.js';
import type { SyncSettings } from '../settings.js';
import type { SyncTx } from '../state/tx.js';

// Only the fields sync relies on are validated (z.object copies just these); the rest of the
// record is sent as commit wrote it.
const historyValueSchema = z.object({
  updated_at: z.string().min(1),
  runs: z.number().int().nonnegative(),
});

/** A dispatch handed to push explicitly: a record with `id` (or `workspace`), any other fields. */
export const explicitDispatchSchema = z
  .looseObject({ id: z.string().min(1).optional(), workspace: z.string().min(1).optional() })
  .refine((r) => r.id !== undefined || r.workspace !== undefined, {
    message: 'a dispatch needs an "id" or a "workspace"',
  });

/** What one collection queued. */
export interface Collected {
  entries: number;
  records: number;
}

let entrySeq = 0;

/**
 * Queues every dispatch that still has to reach the hub: each committed version waiting in
 * `sync_versions` (taken out of it here), unsynced `dispatch_history` records and `explicit`
 * ones, skipping those whose fingerprint the ledger already holds and those already waiting in
 * the queue or the dead-letter list with the same fingerprint. Records go oldest `updated_at`
 * first, `batchSize` to an entry. Throws INPUT_INVALID for a malformed explicit dispatch. Must
 * run inside {@link SyncTx} so concurrent collectors see each other.
 */
export async function collectPending(
  tx: SyncTx,
  settings: SyncSettings,
  io: { now: Date; logger: Logger },
  explicit: readonly unknown[] = [],
): Promise<Collected> {
  const candidates: PushRecord[] = explicit.map(explicitRecord);
  // Each committed version first (a workspace resumed since holds only its latest in
  // dispatch_history); they leave the waiting group in this transaction, into the queue.
  for (const [key, value] of await tx.pendingVersions()) {
    await tx.deleteVersion(key);
    const record = pushRecordOf(value);
    if (record === undefined) {
      io.logger.warn({ key }, 'committed version cannot be synced (no id or fingerprint); skipped');
      continue;
    }
    candidates.push(record);
  }
  for (const [id, value] of await tx.dispatchHistory()) {
    // Synced records are most of the group: skip them first.
    if ((value as { synced?: unknown } | null)?.synced === true) continue;
    const version = versionOf(value);
    if (version === undefined) {
      const parsed = historyValueSchema.safeParse(value);
      io.logger.warn(
        { id, issue: parsed.success ? 'not an object' : parsed.error.issues[0]?.message },
        'dispatch_history record cannot be synced; skipped',
      );
      continue;
    }
    // The value was parsed for this call alone, so it becomes the push record in place rather
    // than being copied twice per record (100,000 records are 40 MB). An undefined `synced` is
    // left out of every JSON it is written to.
    const record = value as Record<string, unknown>;
    record['synced'] = undefined;
    record['id'] = id;
    record['fingerprint'] = fingerprintOf(version);
    candidates.push(record as PushRecord);
  }
  if (candidates.length === 0) return { entries: 0, records: 0 };

  const ledger = await tx.ledger();
  const waiting = new Set<string>();
  for (const entry of [...(await tx.listQueue()), ...(await tx.listDropped())])
    for (const r of entry.dispatches) waiting.add(versionKey(r.id, r.fingerprint));
  const pending: PushRecord[] = [];
  for (const record of candidates) {
    const key = versionKey(record.id, record.fingerprint);
    if (ledger.get(record.id) === record.fingerprint || waiting.has(key)) continue;
    waiting.add(key);
    pending.push(record);
  }
  sortByUpdatedAt(pending);

  const queuedAt = isoUtc(io.now);
  const stamp = queuedAt.replace(/[-:]/g, '');
  let entries = 0;
  for (let i = 0; i < pending.length; i += settings.batchSize) {
    const seq = String(++entrySeq % 1e6).padStart(6, '0');
    const entry: PushEntry = {
      id: `q-${stamp}-${seq}-${randomBytes(4).toString('hex')}`,
      agent_id: settings.agentId,
      ...(settings.fleetNodeId !== undefined ? { fleet_node_id: settings.fleetNodeId } : {}),
      dispatches: pending.slice(i, i + settings.batchSize),
      queued_at: queuedAt,
      attempts: 0,
      next_attempt: queuedAt,
    };
    await tx.putQueue(entry);
    entries += 1;
  }
  return { entries, records: pending.length };
}

/** An explicit dispatch as a push record: `id` defaults to `workspace`; the fingerprint is `<updated_at>#<runs>`, or a content hash when the record has no `updated_at`. */
function explicitRecord(raw: unknown, index: number): PushRecord {
  const parsed = explicitDispatchSchema.safeParse(raw);
  if (!parsed.success)
    throw new AgenticError(
      'INPUT_INVALID',
      `dispatches[${index}]: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      { field: `dispatches[${index}]` },
    );
  const { synced: _synced, ...record } = parsed.data;
  const id = parsed.data.id ?? parsed.data.workspace ?? '';
  const version = z
    .object({ updated_at: z.string().min(1), runs: z.number().int().nonnegative().default(0) })
    .safeParse(record);
  const fingerprint = version.success
    ? fingerprintOf(version.data)
    : `sha256:${createHash('sha256').update(JSON.stringify(record)).digest('hex')}`;
  return { ...record, id, fingerprint };
}

/** A waiting version as a push record: its `id` and `fingerprint` as commit wrote them, or undefined when either is missing. */
function pushRecordOf(value: unknown): PushRecord | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { id, fingerprint } = value as { id?: unknown; fingerprint?: unknown };
  if (typeof id !== 'string' || id === '' || typeof fingerprint !== 'string' || fingerprint === '')
    return undefined;
  const { synced: _synced, ...record } = value as Record<string, unknown>;
  return { ...record, id, fingerprint };
}

function versionKey(id: string, fingerprint: string): string {
  return `${id}\u0000${fingerprint}`;
}

/** Sorts oldest `updated_at` first (a record without one first), then by id; keys are read once, not per comparison. */
function sortByUpdatedAt(records: PushRecord[]): void {
  const keyed = records.map((r) => ({
    at: typeof r['updated_at'] === 'string' ? r['updated_at'] : '',
    id: r.id,
    r,
  }));
  keyed.sort((a, b) =>
    a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  for (let i = 0; i < keyed.length; i++) records[i] = (keyed[i] as { r: PushRecord }).r;
}

/** `{updated_at, runs}` when the record has what the fingerprint needs (the rules of historyValueSchema), else undefined. */
function versionOf(value: unknown): { updated_at: string; runs: number } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { updated_at, runs } = value as { updated_at?: unknown; runs?: unknown };
  if (typeof updated_at !== 'string' || updated_at === '') return undefined;
  if (typeof runs !== 'number' || !Number.isInteger(runs) || runs < 0) return undefined;
  return { updated_at, runs };
}
