import type { AppContext } from '../context.js';
import { queueEntrySchema, trackCommitted, type Track } from '../lifecycle/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import {
  GROUPS,
  type QueueCursor,
  type StateStore,
  type StoreOps,
  isFleet,
} from '../store/index.js';
import { claimInOneCall, type Claim, type ClaimBatch } from './claim-one-call.js';
import { modelOf, poolOf } from '../workspace/index.js';
import { statusRecordSchema } from '../workspace/record-schema.js';
import { hasCapacity, poolLimits, type ConcurrencySnapshot } from '../lifecycle/capacity.js';
import { effectiveFile } from '../fleet/settings.js';
import { isFrozen } from './frozen.js';
import {
  countStart,
  loadRuntime,
  runtimeFileRoot,
  mirrorRuntime,
  pruneBackoff,
  rateGate,
  saveRuntime,
} from './runtime-state.js';

export type { Claim, ClaimBatch } from './claim-one-call.js';

/** Queue entries read per page; a claim rarely looks past the first. */
const PAGE = 64;

/** A queued workspace as the queue group describes it; its full record is read only when claimed. */
interface Candidate {
  name: string;
  agent: string;
  priority: number;
  queued_at: string;
}

/**
 * Claims up to `max` queued workspaces in ONE store transaction: priority (high first), then
 * `queued_at` (oldest first); a pool at its limit (total or per-model), in back-off, over its
 * daily cap or still pacing is skipped without blocking other pools; in a fleet, work pinned to
 * another node is never read. Each claim flips
 * queued → running through trackWorkspace's transaction, so several processes can never
 * over-dispatch.
 */
export async function claimReady(ctx: AppContext, max: number, node: string): Promise<ClaimBatch> {
  const store = await ctx.store();
  if (store.oneCall === undefined) return claimInTransaction(ctx, store, max, node);
  return claimInOneCall(ctx, store.oneCall, { max, node }, (rest) =>
    claimInTransaction(ctx, store, rest, node),
  );
}

/** {@link claimReady} as one store transaction in which every check and change is made. */
async function claimInTransaction(
  ctx: AppContext,
  store: StateStore,
  max: number,
  node: string,
): Promise<ClaimBatch> {
  const now = ctx.clock.now();
  // Work pinned to a node (node_affinity) is only this node's to claim in a fleet; the embedded
  // store has one node, whatever id a pin names, so it claims everything.
  const pinnedTo = isFleet(store) ? node : undefined;
  let runtimeToMirror: Parameters<typeof mirrorRuntime>[2] | undefined;
  const claim = async (track: Track, tx: StoreOps): Promise<Omit<ClaimBatch, 'durable'>> => {
    if (await isFrozen(tx)) return { claims: [], retryAt: undefined, frozen: true };
    // Fleet mode: limits and rates are the fleet's, read here so a change applies at once.
    const file = await effectiveFile(ctx, store, tx);
    // Candidates in claim order, a page at a time: from the store, which sorts the small queue
    // entries itself, so a claim reads the head of a long queue rather than all of it.
    const snapshots = new Map<string, ConcurrencySnapshot>();
    const closedPools = new Set<string>();
    // A pool already at its limit is left out of the pages, so a claim that finds every pool
    // full costs a seek per pool and no parsing.
    for (const [pool, value] of await tx.entries(GROUPS.concurrency)) {
      const snap = value as ConcurrencySnapshot;
      snapshots.set(pool, { ...snap, models: { ...snap.models } });
      if (snap.running >= poolLimits(file, pool).total) closedPools.add(pool);
    }
    let after: QueueCursor | undefined;
    const page = async (): Promise<Candidate[]> => {
      const rows = await tx.queuePage({
        limit: PAGE,
        after,
        skipPools: [...closedPools],
        node: pinnedTo,
      });
      after = rows.at(-1)?.cursor;
      return rows.map(({ name, value }) => {
        const entry = queueEntrySchema.safeParse(value);
        return entry.success
          ? { name, ...entry.data }
          : { name, agent: '', priority: 0, queued_at: '' };
      });
    };
    let candidates = await page();
    if (candidates.length === 0) return { claims: [], retryAt: undefined, frozen: false };

    const runtime = await loadRuntime(tx, runtimeFileRoot(ctx, store));
    const runtimeBefore = JSON.stringify(runtime);
    pruneBackoff(runtime, now);
    const claims: Claim[] = [];
    const counted = new Set<string>();
    let retryAt: Date | undefined;
    const waitUntil = (at: Date): void => {
      if (retryAt === undefined || at < retryAt) retryAt = at;
    };
    /** Claims one candidate if its pool lets it start. */
    const consider = async (candidate: Candidate): Promise<void> => {
      const { name } = candidate;
      if (closedPools.has(poolOf(candidate.agent))) return;
      // A queue entry is trusted only as far as the registry agrees it is queued.
      const parsed = statusRecordSchema.safeParse(await tx.get(GROUPS.registry, name));
      if (!parsed.success || parsed.data.status !== 'queued') {
        await tx.delete(GROUPS.queue, name);
        return;
      }
      const record = parsed.data;
      if (pinnedTo !== undefined && (record.node_affinity ?? pinnedTo) !== pinnedTo) return;
      const pool = poolOf(record.agent);
      if (closedPools.has(pool)) return;
      const backoff = runtime.backoff[pool];
      if (backoff !== undefined) {
        closedPools.add(pool);
        waitUntil(new Date(backoff));
        return;
      }
      const rate = file.rates[pool];
      const gate = rateGate(rate, runtime.rates[pool], now);
      if (gate !== undefined) {
        closedPools.add(pool);
        waitUntil(gate);
        return;
      }
      if (!counted.has(pool)) {
        // The pool's running counter is read again, locked until COMMIT (fleet mode: claims on
        // other nodes wait for it), so the limit is checked against the count as it is now.
        counted.add(pool);
        const row = (await tx.get(GROUPS.concurrency, pool)) as ConcurrencySnapshot | undefined;
        if (row === undefined) snapshots.delete(pool);
        else snapshots.set(pool, { ...row, models: { ...row.models } });
      }
      const limits = poolLimits(file, pool);
      const snap = snapshots.get(pool);
      if ((snap?.running ?? 0) >= limits.total) {
        closedPools.add(pool);
        return;
      }
      if (!hasCapacity(limits, snap, modelOf(record.agent))) return;
      const claimed = await track(name, {
        ...record,
        status: nextStatus(record.status, 'claim'),
        node,
        pid: undefined,
        pid_start: undefined,
      });
      if (claimed === null) return;
      claims.push({ name, record: claimed });
      bump(snapshots, record.agent);
      countStart(runtime, pool, rate, now);
      // Pacing: after one start the pool waits for the next slot in its rate window.
      if (rate !== undefined && rateGate(rate, runtime.rates[pool], now) !== undefined)
        closedPools.add(pool);
    };
    while (candidates.length > 0) {
      for (const candidate of candidates) {
        if (claims.length >= max) break;
        await consider(candidate);
      }
      if (claims.length >= max || candidates.length < PAGE) break;
      candidates = await page();
    }
    // Rate windows and expired back-off change the runtime state; plain claims do not.
    if (JSON.stringify(runtime) !== runtimeBefore) {
      await saveRuntime(tx, runtime);
      runtimeToMirror = runtime;
    }
    return { claims, retryAt, frozen: false };
  };
  // Rate windows and back-off go to dispatch.json once the store has them on disk.
  const { result, durable } = await trackCommitted(ctx, claim, () => {
    if (runtimeToMirror) mirrorRuntime(store, ctx.config.coreRoot, runtimeToMirror);
  });
  return { ...result, durable };
}

/** Counts one more running agent of `agent` into its pool's snapshot. */
function bump(snapshots: Map<string, ConcurrencySnapshot>, agent: string): void {
  const pool = poolOf(agent);
  const snap = snapshots.get(pool) ?? { running: 0, limit: 0, snapshot_at: '', models: {} };
  snap.running += 1;
  const model = modelOf(agent);
  if (model !== undefined) snap.models[model] = (snap.models[model] ?? 0) + 1;
  snapshots.set(pool, snap);
}
