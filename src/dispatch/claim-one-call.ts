import type { AgentsFile } from '../config/index.js';
import type { StatusRecord } from '../workspace/index.js';
import type { AppContext } from '../context.js';
import { poolLimits } from '../lifecycle/capacity.js';
import { isoUtc } from '../lib/clock.js';
import type { ClaimLimits, OneCallOps } from '../store/index.js';
import { registryRecord } from '../workspace/record-schema.js';
import { pruneBackoff } from './runtime-state.js';
import { readFleetState } from './fleet-state.js';

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
  /**
   * Settles once the claims are on disk (their mirrors written). An agent is started only
   * after it, so a claim lost to a power cut never leaves an agent behind; preparing the
   * workspace need not wait.
   */
  durable: Promise<void>;
}

/**
 * A claim on a store that claims in one server-side call (the fleet's PostgreSQL): the fleet's
 * settings and back-off are read without a lock, paused pools are left out, and the store
 * claims the rest, holding the frozen flag and each pool's counter for that one call. It writes
 * no status.json: the shared database is the record in a fleet, and the start that follows
 * writes the workspace's file (an atomic file write costs more CPU than the claim). Pools with
 * a rate limit are claimed by `inTransaction` (the claim that locks and counts their windows),
 * asked only when they have work this node could start and slots are left.
 */
export async function claimInOneCall(
  ctx: AppContext,
  oneCall: OneCallOps,
  { max, node }: { max: number; node: string },
  inTransaction: (max: number) => Promise<ClaimBatch>,
): Promise<ClaimBatch> {
  const now = ctx.clock.now();
  const { file, runtime } = await readFleetState(ctx, oneCall);
  pruneBackoff(runtime, now);
  const rated = Object.keys(file.rates).filter((pool) => runtime.backoff[pool] === undefined);
  const result = await oneCall.claim({
    node,
    max,
    now: isoUtc(now),
    skipPools: [...Object.keys(runtime.backoff), ...rated],
    limits: limitsOf(file),
  });
  if (result.frozen)
    return { claims: [], retryAt: undefined, frozen: true, durable: Promise.resolve() };
  const claims: Claim[] = [];
  for (const { name, value } of result.claims) {
    const record = registryRecord(value);
    // Claimed, but not a record this version can start: hydrate judges it like any run
    // without an agent.
    if (record === undefined) ctx.logger.error({ workspace: name }, 'claimed record unreadable');
    else claims.push({ name, record });
  }
  let retryAt: Date | undefined;
  for (const pool of result.waitingPools) {
    const until = runtime.backoff[pool];
    if (until !== undefined) retryAt = earliest(retryAt, new Date(until));
  }
  const batch: ClaimBatch = { claims, retryAt, frozen: false, durable: Promise.resolve() };
  if (claims.length >= max || !result.waitingPools.some((pool) => rated.includes(pool)))
    return batch;
  const more = await inTransaction(max - claims.length);
  return {
    claims: [...claims, ...more.claims],
    retryAt: earliest(retryAt, more.retryAt),
    frozen: more.frozen,
    durable: more.durable,
  };
}

/** The earlier of two deadlines; undefined only when both are. */
function earliest(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}

/** The limits of every pool agents.yaml (or the fleet) names, and the default of the others. */
function limitsOf(file: AgentsFile): {
  default: ClaimLimits;
  pools: Record<string, ClaimLimits>;
} {
  const pools: Record<string, ClaimLimits> = {};
  for (const pool of Object.keys(file.concurrency)) pools[pool] = poolLimits(file, pool);
  return { default: { total: file.dispatch.default_concurrency, models: {} }, pools };
}
