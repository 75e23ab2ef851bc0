import type { PoolLimits } from '../config/pool-limits.js';
import type { ConcurrencySnapshot } from '../store/index.js';

export { poolLimits } from '../config/pool-limits.js';
export type { PoolLimits } from '../config/pool-limits.js';
export type { ConcurrencySnapshot } from '../store/index.js';

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
