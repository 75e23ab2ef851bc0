import type { AgentsFile } from '../config/index.js';

/** The limits of one pool: a total, plus optional per-model sub-limits. */
export interface PoolLimits {
  total: number;
  models: Readonly<Record<string, number>>;
}

/** Running counts of one pool, as kept in the `concurrency` group. */
export interface ConcurrencySnapshot {
  running: number;
  limit: number;
  snapshot_at: string;
  /** Running count per model (agent strings with a `:model`). */
  models: Record<string, number>;
}

/** Limits of `pool` from agents.yaml `concurrency`; no entry means `dispatch.default_concurrency`, never unlimited. */
export function poolLimits(file: AgentsFile, pool: string): PoolLimits {
  const entry = file.concurrency[pool];
  if (entry === undefined) return { total: file.dispatch.default_concurrency, models: {} };
  if (typeof entry === 'number') return { total: entry, models: {} };
  const { total, ...models } = entry;
  return { total: total ?? file.dispatch.default_concurrency, models };
}

/** True when one more `model` run fits in the pool given its current snapshot. */
export function hasCapacity(
  limits: PoolLimits,
  snapshot: ConcurrencySnapshot | undefined,
  model: string | undefined,
): boolean {
  const running = snapshot?.running ?? 0;
  if (running >= limits.total) return false;
  if (model === undefined) return true;
  const modelLimit = limits.models[model];
  if (modelLimit === undefined) return true;
  return (snapshot?.models[model] ?? 0) < modelLimit;
}
