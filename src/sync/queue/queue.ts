import { isoUtc } from '../../lib/clock.js';
import type { PushResult } from '../client.js';
import { holdAfterFailure, holdAfterSuccess, sendableAt } from './gate.js';
import { leasedByOther, type LeaseOwner } from './entry-lease.js';
import type { DroppedEntry, HistoryRecord, PushEntry } from '../schema.js';
import type { SyncTx } from '../state/tx.js';

/** The request body of a queued entry (README: Sync); the same bytes on every attempt. */
export function pushBody(entry: PushEntry): string {
  return JSON.stringify({
    agent_id: entry.agent_id,
    ...(entry.fleet_node_id !== undefined ? { fleet_node_id: entry.fleet_node_id } : {}),
    dispatches: entry.dispatches,
  });
}

/** What {@link claimEntry} found. */
export type EntryClaim =
  | { kind: 'claimed'; entry: PushEntry }
  | { kind: 'gone' }
  | { kind: 'leased'; until: string }
  | { kind: 'waiting'; until: string };

/**
 * Takes the lease on queued entry `id` for `leaseMs` so no other process sends it meanwhile.
 * Unless `force` (an explicit `agentic sync push`), the entry must be sendable now (see
 * sendableAt: its back-off and the queue-wide hold).
 */
export async function claimEntry(
  tx: SyncTx,
  id: string,
  lease: { owner: LeaseOwner; now: Date; leaseMs: number; force: boolean },
): Promise<EntryClaim> {
  const entry = await tx.getQueue(id);
  if (entry === undefined) return { kind: 'gone' };
  const held = await tx.getLease(id);
  if (held !== undefined && leasedByOther(held, lease.owner, lease.now))
    return { kind: 'leased', until: held.until };
  if (!lease.force) {
    const at = sendableAt(entry, await tx.marks());
    if (at > isoUtc(lease.now)) return { kind: 'waiting', until: at };
  }
  await tx.setLease(id, {
    owner: lease.owner,
    until: isoUtc(new Date(lease.now.getTime() + lease.leaseMs)),
  });
  const { lease_owner: _o, lease_until: _u, ...claimed } = entry;
  return { kind: 'claimed', entry: claimed };
}

/** What happened to an entry after its request. */
export type Settled =
  | { kind: 'pushed'; records: number }
  | { kind: 'retry'; nextAttempt: string; attempts: number; reason: string }
  | { kind: 'dropped'; id: string; attempts: number; reason: string }
  | { kind: 'released' };

/** What {@link settleEntry} needs besides the entry and the result. */
export interface SettleIo {
  now: Date;
  maxAttempts: number;
  random: () => number;
  payloadSize: number;
  /** This process's lease owner: while it still holds the entry's lease, the entry is queued. */
  owner: LeaseOwner;
  /** The marks' `wave` when the (last) request was sent, see holdAfterFailure; undefined = the current wave. */
  sentWave?: number | undefined;
}

/**
 * Applies a push result to entry `sent` in one transaction. 2xx: the entry leaves the queue,
 * the ledger takes each record's collection-time fingerprint, `dispatch_history` records still
 * at that fingerprint are marked synced, `last_push_at` is set, the hold is cleared and a `push`
 * record written. Retryable failure: attempts + 1, `next_attempt` from `Retry-After` or the
 * queue-wide hold (the back-off schedule stepped per failed wave, see holdAfterFailure), or a drop once
 * `maxAttempts` is reached. Permanent failure: dropped at once. Aborted by shutdown: the lease
 * is released and the attempt is not counted.
 */
export async function settleEntry(
  tx: SyncTx,
  sent: PushEntry,
  result: PushResult,
  io: SettleIo,
): Promise<Settled> {
  const at = isoUtc(io.now);
  if (result.ok) {
    for (const record of sent.dispatches) {
      await tx.setLedger(record.id, record.fingerprint);
      await tx.markSynced(record.id, record.fingerprint);
    }
    await tx.setMarks(holdAfterSuccess(await tx.marks(), io.now));
    // Another process may already have settled it after our lease expired: record it once. Our
    // lease still being there proves the entry is (a settle deletes both), without reading the
    // entry's payload back.
    if ((await tx.getLease(sent.id))?.owner === io.owner || (await tx.hasQueue(sent.id))) {
      await tx.deleteQueue(sent.id);
      await tx.appendHistory(entryHistory(sent, 'push', io.payloadSize, at));
    }
    return { kind: 'pushed', records: sent.dispatches.length };
  }
  const current = await tx.getQueue(sent.id);
  if (current === undefined) return { kind: 'released' };
  await tx.clearLease(sent.id);
  if (result.aborted) return { kind: 'released' };
  const { lease_owner: _owner, lease_until: _until, ...entry } = current;
  const attempts = entry.attempts + 1;
  if (!result.retryable || attempts >= io.maxAttempts) {
    const reason = result.retryable
      ? `gave up after ${attempts} attempts: ${result.reason}`
      : result.reason;
    await dropEntry(tx, { ...entry, attempts, last_error: result.reason }, reason, io);
    return { kind: 'dropped', id: entry.id, attempts, reason };
  }
  const hold = holdAfterFailure(
    await tx.marks(),
    io.now,
    result.retryAfterMs,
    io.random,
    io.sentWave,
  );
  const nextAttempt = hold.nextAttempt;
  const { throttled: _throttled, ...rest } = entry;
  await tx.putQueue({
    ...rest,
    attempts,
    next_attempt: nextAttempt,
    last_error: result.reason,
    failed_at: at,
    ...(result.retryAfterMs !== undefined ? { throttled: true } : {}),
  });
  await tx.setMarks(hold.marks);
  return { kind: 'retry', nextAttempt, attempts, reason: result.reason };
}

async function dropEntry(
  tx: SyncTx,
  entry: PushEntry,
  reason: string,
  io: { now: Date; payloadSize: number },
): Promise<void> {
  const at = isoUtc(io.now);
  const { degraded: _degraded, ...kept } = entry;
  const dropped: DroppedEntry = { ...kept, dropped_at: at, reason };
  await tx.deleteQueue(entry.id);
  await tx.putDropped(dropped);
  await tx.appendHistory({
    ...entryHistory(entry, 'drop', io.payloadSize, at),
    attempts: entry.attempts,
    reason,
  });
}

/** The history record of an entry that was pushed or dropped at `at`. */
function entryHistory(
  entry: PushEntry,
  direction: 'push' | 'drop',
  payloadSize: number,
  at: string,
): HistoryRecord {
  return {
    agent_id: entry.agent_id,
    ...(entry.fleet_node_id !== undefined ? { fleet_node_id: entry.fleet_node_id } : {}),
    direction,
    payload_size: payloadSize,
    items_count: entry.dispatches.length,
    synced_at: at,
  };
}

/**
 * Moves every dropped entry back to the queue with a fresh attempt count, ready now, under
 * `identity` (the node's current agent and fleet node id) when given; returns how many entries
 * and records.
 */
export async function requeueDropped(
  tx: SyncTx,
  now: Date,
  identity?: { agentId: string; fleetNodeId: string | undefined },
): Promise<{ entries: number; records: number }> {
  let entries = 0;
  let records = 0;
  for (const dropped of await tx.listDropped()) {
    const {
      dropped_at: _at,
      reason: _reason,
      last_error: _error,
      failed_at: _failed,
      throttled: _throttled,
      ...entry
    } = dropped;
    // An entry dropped for a wrong identity (403) goes again as who this node is now.
    const { fleet_node_id: _node, ...rest } = entry;
    const who =
      identity === undefined
        ? entry
        : {
            ...rest,
            agent_id: identity.agentId,
            ...(identity.fleetNodeId !== undefined ? { fleet_node_id: identity.fleetNodeId } : {}),
          };
    await tx.putQueue({ ...who, attempts: 0, next_attempt: isoUtc(now) });
    await tx.deleteDropped(dropped.id);
    entries += 1;
    records += entry.dispatches.length;
  }
  return { entries, records };
}
