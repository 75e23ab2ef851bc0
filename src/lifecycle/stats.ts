import type { AppContext } from '../context.js';
import type { StatsQuery, StatsRow } from '../store/index.js';

/** What `agentic workspace stats` and `agentic_workspace_stats` return. */
export interface StatsReport {
  summary: { count: number; by_outcome: Record<string, number>; mean_duration_ms: number | null };
  rows: StatsRow[];
  degraded: boolean;
}

/** Reads committed-dispatch statistics (newest first, default limit 100) with a summary by outcome. */
export async function workspaceStats(ctx: AppContext, query: StatsQuery): Promise<StatsReport> {
  const store = await ctx.store();
  const rows = await store.queryStats({ ...query, limit: query.limit ?? 100 });
  const byOutcome: Record<string, number> = {};
  for (const r of rows) byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
  const durations = rows.map((r) => r.duration_ms).filter((d): d is number => d !== null);
  const mean = durations.length
    ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length)
    : null;
  return {
    summary: { count: rows.length, by_outcome: byOutcome, mean_duration_ms: mean },
    rows,
    degraded: store.degraded,
  };
}

/** One line: `3 dispatch(es): 2 completed, 1 failed`. */
export function statsHeadline(report: StatsReport): string {
  const parts = Object.entries(report.summary.by_outcome).map(([k, v]) => `${v} ${k}`);
  return `${report.summary.count} dispatch(es): ${parts.join(', ') || 'none'}`;
}
