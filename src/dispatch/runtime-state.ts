import { rmSync } from 'node:fs';
import { z } from 'zod';
import { runtimePaths, type RateConfig } from '../config/index.js';
import type { AppContext } from '../context.js';
import { isoUtc } from '../lib/clock.js';
import { readJsonIfValid, writeFileAtomic } from '../lib/fs.js';
import { GROUPS, isFleet, type StateStore, type StoreOps } from '../store/index.js';

/** agents.yaml `dispatch.failure_backoff`: defaults 3 failures within 60 s pause 30 minutes; count 0 turns it off. */
export interface FailureBackoff {
  count: number;
  within_seconds: number;
  pause_minutes: number;
}

const rateStateSchema = z.object({
  window_start: z.string(),
  count: z.number().int(),
  last_start: z.string().optional(),
});
const runtimeSchema = z.object({
  backoff: z.record(z.string(), z.string()).default({}),
  /** Why each pool in `backoff` is paused, for status, doctor and `dispatch --wait`. */
  backoff_reason: z.record(z.string(), z.string()).default({}),
  fail_count: z.record(z.string(), z.number().int()).default({}),
  rates: z.record(z.string(), rateStateSchema).default({}),
});

/** Per-pool back-off deadlines, fast-failure counts and rate windows (the `runtime` group). */
export type RuntimeState = z.infer<typeof runtimeSchema>;
type RateState = z.infer<typeof rateStateSchema>;

const RUNTIME_KEYS = ['backoff', 'backoff_reason', 'fail_count', 'rates'] as const;

/** `<CoreRoot>/runtime/dispatch.json`, the runtime state's file mirror. */
export function runtimeFile(coreRoot: string): string {
  return runtimePaths(coreRoot).dispatch;
}

/** The file mirror as last written; undefined when absent, torn or not of this shape. */
function readRuntimeFile(coreRoot: string): RuntimeState | undefined {
  return readJsonIfValid(runtimeFile(coreRoot), runtimeSchema);
}

/**
 * Reads runtime state inside `tx`, its rows locked: store first; the file mirror at `coreRoot`
 * fills pools the store lacks (and carries it all when degraded). A fleet passes no `coreRoot`:
 * one node's file must never pause the fleet's pools.
 */
export async function loadRuntime(
  tx: StoreOps,
  coreRoot: string | undefined,
): Promise<RuntimeState> {
  const stored = new Map<string, unknown>();
  for (const key of RUNTIME_KEYS) stored.set(key, await tx.get(GROUPS.runtime, key));
  const state = runtimeOf((key) => stored.get(key));
  // A torn or hand-edited file reads as absent: the store's copy (or nothing) stands.
  const file = coreRoot === undefined ? undefined : readRuntimeFile(coreRoot);
  if (file !== undefined) {
    for (const key of RUNTIME_KEYS) {
      for (const [pool, value] of Object.entries(file[key])) {
        if (!(pool in state[key])) (state[key] as Record<string, unknown>)[pool] = value;
      }
    }
  }
  return state;
}

/**
 * The CoreRoot whose dispatch.json fills runtime pools the store lacks: none in a fleet, where
 * one node's file must never pause the fleet's pools.
 */
export function runtimeFileRoot(ctx: AppContext, store: StateStore): string | undefined {
  return isFleet(store) ? undefined : ctx.config.coreRoot;
}

/** The store's rows of the runtime state, for a caller that reads them with other rows. */
export const RUNTIME_ROWS = RUNTIME_KEYS.map((key) => [GROUPS.runtime, key] as const);

/** Runtime state from the stored value of each runtime key (unreadable values count as empty). */
export function runtimeOf(valueOf: (key: string) => unknown): RuntimeState {
  const state: RuntimeState = { backoff: {}, backoff_reason: {}, fail_count: {}, rates: {} };
  for (const key of RUNTIME_KEYS) {
    const parsed = runtimeSchema.shape[key].safeParse(valueOf(key));
    if (parsed.success) Object.assign(state[key], parsed.data);
  }
  return state;
}

/** Writes runtime state to the store (empty keys deleted) inside `tx`; call {@link mirrorRuntime} after commit. */
export async function saveRuntime(tx: StoreOps, state: RuntimeState): Promise<void> {
  for (const key of RUNTIME_KEYS) {
    if (Object.keys(state[key]).length === 0) await tx.delete(GROUPS.runtime, key);
    else await tx.set(GROUPS.runtime, key, state[key]);
  }
}

/**
 * Mirrors runtime state to `<CoreRoot>/runtime/dispatch.json` (deleted when empty), unless the
 * store keeps that file itself (StateStore.ownsStateFiles).
 */
export function mirrorRuntime(store: StateStore, coreRoot: string, state: RuntimeState): void {
  if (store.ownsStateFiles) return;
  const empty = Object.values(state).every((v) => Object.keys(v).length === 0);
  if (empty) rmSync(runtimeFile(coreRoot), { force: true });
  else writeFileAtomic(runtimeFile(coreRoot), `${JSON.stringify(state, null, 2)}\n`);
}

/** Drops expired back-off deadlines. */
export function pruneBackoff(state: RuntimeState, now: Date): void {
  for (const [pool, until] of Object.entries(state.backoff))
    if (Date.parse(until) <= now.getTime()) delete state.backoff[pool];
  for (const pool of Object.keys(state.backoff_reason))
    if (state.backoff[pool] === undefined) delete state.backoff_reason[pool];
}

/** Records how a run ended: fast failures count up and pause the pool at the limit; anything else resets the count. */
export function recordOutcome(
  state: RuntimeState,
  pool: string,
  fastFailure: boolean,
  now: Date,
  policy: FailureBackoff,
): void {
  if (!fastFailure || policy.count === 0) {
    delete state.fail_count[pool];
    return;
  }
  const count = (state.fail_count[pool] ?? 0) + 1;
  if (count >= policy.count) {
    state.backoff[pool] = isoUtc(new Date(now.getTime() + policy.pause_minutes * 60_000));
    state.backoff_reason[pool] =
      `${count} runs failed within ${policy.within_seconds}s of their start`;
    delete state.fail_count[pool];
  } else {
    state.fail_count[pool] = count;
  }
}

/** Start of the rate window containing `now`: the latest `reset_utc` at or before it. */
export function windowStart(resetUtc: string, now: Date): Date {
  const [h = 0, m = 0] = resetUtc.split(':').map(Number);
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h, m));
  if (start > now) start.setUTCDate(start.getUTCDate() - 1);
  return start;
}

/**
 * When the pool may start its next run under `rates.<pool>`: undefined = now. Daily caps count
 * starts since the window start; pacing spaces starts by `min_delay` and by `burst_delay` in
 * the last `burst_window` hours before the reset, `sustained_delay` otherwise.
 */
export function rateGate(
  rate: RateConfig | undefined,
  st: RateState | undefined,
  now: Date,
): Date | undefined {
  if (rate === undefined) return undefined;
  const start = windowStart(rate.reset_utc, now);
  const nextReset = new Date(start.getTime() + 86_400_000);
  const count = st?.window_start === isoUtc(start) ? st.count : 0;
  if (rate.daily_limit !== undefined && count >= rate.daily_limit) return nextReset;
  const inBurst =
    rate.burst_window > 0 && now.getTime() >= nextReset.getTime() - rate.burst_window * 3_600_000;
  const delayS = Math.max(rate.min_delay, inBurst ? rate.burst_delay : rate.sustained_delay);
  if (st?.last_start !== undefined && delayS > 0) {
    const next = Date.parse(st.last_start) + delayS * 1000;
    if (next > now.getTime()) return new Date(next);
  }
  return undefined;
}

/** Counts one start in the pool's rate window. */
export function countStart(
  state: RuntimeState,
  pool: string,
  rate: RateConfig | undefined,
  now: Date,
): void {
  if (rate === undefined) return;
  const start = isoUtc(windowStart(rate.reset_utc, now));
  const st = state.rates[pool];
  state.rates[pool] = {
    window_start: start,
    count: st?.window_start === start ? st.count + 1 : 1,
    last_start: isoUtc(now),
  };
}

/** A paused pool: until when, and why. */
export interface PoolPause {
  pool: string;
  until: string;
  reason: string;
}

/** The pools paused at `now` (back-off deadline in the future), from the runtime state. */
export function pausedPools(state: RuntimeState, now: Date): PoolPause[] {
  return Object.entries(state.backoff)
    .filter(([, until]) => Date.parse(until) > now.getTime())
    .map(([pool, until]) => ({ pool, until, reason: state.backoff_reason[pool] ?? 'paused' }))
    .sort((a, b) => a.pool.localeCompare(b.pool));
}

/** The paused pools as the file mirror last recorded them (no store access: for progress lines). */
export function pausedPoolsFromFile(coreRoot: string, now: Date): PoolPause[] {
  const file = readRuntimeFile(coreRoot);
  return file === undefined ? [] : pausedPools(file, now);
}

/** Clears every pool's pause and fast-failure count (`agentic start`); returns the pools that were paused. */
export async function clearPauses(ctx: AppContext): Promise<string[]> {
  const store = await ctx.store();
  const state = await store.transaction(async (tx) => {
    const runtime = await loadRuntime(tx, ctx.config.coreRoot);
    const paused = pausedPools(runtime, ctx.clock.now()).map((p) => p.pool);
    runtime.backoff = {};
    runtime.backoff_reason = {};
    runtime.fail_count = {};
    await saveRuntime(tx, runtime);
    return { runtime, paused };
  });
  mirrorRuntime(store, ctx.config.coreRoot, state.runtime);
  return state.paused;
}
