import type { AppContext } from '../context.js';
import { queueEntrySchema, scanDiskRecords, trackInTransaction } from '../lifecycle/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { GROUPS } from '../store/index.js';
import { modelOf, poolOf, statusRecordSchema, type StatusRecord } from '../workspace/index.js';
import { hasCapacity, poolLimits, type ConcurrencySnapshot } from './capacity.js';
import { isFrozen } from './frozen.js';
import {
  countStart,
  loadRuntime,
  mirrorRuntime,
  pruneBackoff,
  rateGate,
  saveRuntime,
} from './runtime-state.js';

/** A workspace the runner may now prepare and start. */
export interface Claim {
  name: string;
  record: StatusRecord;
}

/** Claimed workspaces, plus when to look again for work that is waiting on back-off or pacing. */
export interface ClaimBatch {
  claims: Claim[];
  /** Earliest back-off or pacing deadline among waiting pools; undefined when nothing waits on time. */
  retryAt: Date | undefined;
  frozen: boolean;
}

/** A queued workspace as the queue group describes it; its full record is read only when claimed. */
interface Candidate {
  name: string;
  agent: string;
  priority: number;
  queued_at: string;
  /** Known up front when the store is degraded (the queue then comes from status.json). */
  record?: StatusRecord;
}

/**
 * Claims up to `max` queued workspaces in ONE store transaction: priority (high first), then
 * `queued_at` (oldest first); a pool at its limit (total or per-model), in back-off, over its
 * daily cap or still pacing is skipped without blocking other pools. Each claim flips
 * queued → running through trackWorkspace's transaction, so several processes can never
 * over-dispatch. When the store is degraded the queue and running counts come from status.json.
 */
export async function claimReady(ctx: AppContext, max: number, node: string): Promise<ClaimBatch> {
  const store = await ctx.store();
  const now = ctx.clock.now();
  let runtimeToMirror: Parameters<typeof mirrorRuntime>[1] | undefined;
  const batch = await trackInTransaction(ctx, async (track, tx): Promise<ClaimBatch> => {
    if (await isFrozen(ctx, tx, store)) return { claims: [], retryAt: undefined, frozen: true };
    const disk = store.degraded ? scanDiskRecords(ctx) : undefined;
    const candidates: Candidate[] = [];
    const snapshots = new Map<string, ConcurrencySnapshot>();
    if (disk) {
      for (const [name, record] of disk) {
        if (record.status === 'queued')
          candidates.push({
            name,
            agent: record.agent,
            priority: record.priority,
            queued_at: record.queued_at ?? record.updated_at,
            record,
          });
        if (record.status === 'running') bump(snapshots, record.agent);
      }
    } else {
      // Ordering and pool checks need only the small queue entries; the full record of a
      // candidate is read when it is about to be claimed, so a long queue stays cheap to scan.
      for (const [name, value] of await tx.entries(GROUPS.queue)) {
        const entry = queueEntrySchema.safeParse(value);
        if (entry.success) candidates.push({ name, ...entry.data });
        else candidates.push({ name, agent: '', priority: 0, queued_at: '' });
      }
    }
    if (candidates.length === 0) return { claims: [], retryAt: undefined, frozen: false };
    candidates.sort(
      (a, b) =>
        b.priority - a.priority ||
        a.queued_at.localeCompare(b.queued_at) ||
        a.name.localeCompare(b.name),
    );

    const runtime = await loadRuntime(tx, ctx.config.coreRoot);
    const runtimeBefore = JSON.stringify(runtime);
    pruneBackoff(runtime, now);
    const snapshot = async (pool: string): Promise<ConcurrencySnapshot | undefined> => {
      if (!snapshots.has(pool) && !disk) {
        const value = (await tx.get(GROUPS.concurrency, pool)) as ConcurrencySnapshot | undefined;
        if (value) snapshots.set(pool, { ...value, models: { ...value.models } });
      }
      return snapshots.get(pool);
    };
    const claims: Claim[] = [];
    const closedPools = new Set<string>();
    let retryAt: Date | undefined;
    const waitUntil = (at: Date): void => {
      if (retryAt === undefined || at < retryAt) retryAt = at;
    };
    for (const candidate of candidates) {
      if (claims.length >= max) break;
      const { name } = candidate;
      if (closedPools.has(poolOf(candidate.agent))) continue;
      let record = candidate.record;
      if (record === undefined) {
        // A queue entry is trusted only as far as the registry agrees it is queued.
        const parsed = statusRecordSchema.safeParse(await tx.get(GROUPS.registry, name));
        if (!parsed.success || parsed.data.status !== 'queued') {
          await tx.delete(GROUPS.queue, name);
          continue;
        }
        record = parsed.data;
      }
      const pool = poolOf(record.agent);
      if (closedPools.has(pool)) continue;
      const backoff = runtime.backoff[pool];
      if (backoff !== undefined) {
        closedPools.add(pool);
        waitUntil(new Date(backoff));
        continue;
      }
      const rate = ctx.config.file.rates[pool];
      const gate = rateGate(rate, runtime.rates[pool], now);
      if (gate !== undefined) {
        closedPools.add(pool);
        waitUntil(gate);
        continue;
      }
      const limits = poolLimits(ctx.config.file, pool);
      const snap = await snapshot(pool);
      if ((snap?.running ?? 0) >= limits.total) {
        closedPools.add(pool);
        continue;
      }
      if (!hasCapacity(limits, snap, modelOf(record.agent))) continue;
      const claimed = await track(name, {
        ...record,
        status: nextStatus(record.status, 'claim'),
        node,
        pid: undefined,
        pid_start: undefined,
      });
      if (claimed === null) continue;
      claims.push({ name, record: claimed });
      bump(snapshots, record.agent, await snapshot(pool));
      countStart(runtime, pool, rate, now);
      // Pacing: after one start the pool waits for the next slot in its rate window.
      if (rate !== undefined && rateGate(rate, runtime.rates[pool], now) !== undefined)
        closedPools.add(pool);
    }
    // Rate windows and expired back-off change the runtime state; plain claims do not.
    if (JSON.stringify(runtime) !== runtimeBefore) {
      await saveRuntime(tx, runtime);
      runtimeToMirror = runtime;
    }
    return { claims, retryAt, frozen: false };
  });
  if (runtimeToMirror) mirrorRuntime(ctx.config.coreRoot, runtimeToMirror, store.degraded);
  return batch;
}

function bump(
  snapshots: Map<string, ConcurrencySnapshot>,
  agent: string,
  existing?: ConcurrencySnapshot,
): void {
  const pool = poolOf(agent);
  const snap = existing ??
    snapshots.get(pool) ?? { running: 0, limit: 0, snapshot_at: '', models: {} };
  snap.running += 1;
  const model = modelOf(agent);
  if (model !== undefined) snap.models[model] = (snap.models[model] ?? 0) + 1;
  snapshots.set(pool, snap);
}
