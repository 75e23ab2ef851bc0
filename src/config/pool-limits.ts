import type { AgentsFile } from './schema.js';

/** The limits of one pool: a total, plus optional per-model sub-limits. */
export interface PoolLimits {
  total: number;
  models: Readonly<Record<string, number>>;
}

/** Limits of `pool` from agents.yaml `concurrency`; no entry means `dispatch.default_concurrency`, never unlimited. */
export function poolLimits(file: AgentsFile, pool: string): PoolLimits {
  const entry = file.concurrency[pool];
  if (entry === undefined) return { total: file.dispatch.default_concurrency, models: {} };
  if (typeof entry === 'number') return { total: entry, models: {} };
  const { total, ...models } = entry;
  return { total: total ?? file.dispatch.default_concurrency, models };
}
