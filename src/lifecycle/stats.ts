import type { AppContext } from '../context.js';
import type { StatsQuery, StatsRow } from '../store/index.js';
import { fingerprintOf, modelOf, type StatusRecord, type TokenUsage } from '../workspace/index.js';
import { readRecord } from './records.js';

/** What `agentic workspace stats` and `agentic_workspace_stats` return. */
export interface StatsReport {
  summary: {
    count: number;
    by_outcome: Record<string, number>;
    mean_duration_ms: number | null;
    /**
     * Tokens and cost the agent CLIs reported, summed once per workspace among the rows (a
     * record's usage already adds up all of its runs); `workspaces` says how many reported any.
     */
    usage: TokenUsage & { workspaces: number };
  };
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
    summary: {
      count: rows.length,
      by_outcome: byOutcome,
      mean_duration_ms: mean,
      usage: await usageOf(ctx, new Set(rows.map((r) => r.workspace))),
    },
    rows,
    degraded: store.degraded,
  };
}

/** The usage recorded on each workspace's record, summed; a workspace since removed counts nothing. */
async function usageOf(
  ctx: AppContext,
  workspaces: ReadonlySet<string>,
): Promise<TokenUsage & { workspaces: number }> {
  const sum: TokenUsage & { workspaces: number } = {
    input_tokens: 0,
    output_tokens: 0,
    workspaces: 0,
  };
  for (const name of workspaces) {
    const usage = (await readRecord(ctx, name))?.usage;
    if (usage === undefined) continue;
    sum.workspaces += 1;
    sum.input_tokens += usage.input_tokens;
    sum.output_tokens += usage.output_tokens;
    if (usage.cost_usd !== undefined)
      sum.cost_usd = Math.round(((sum.cost_usd ?? 0) + usage.cost_usd) * 1e6) / 1e6;
  }
  return sum;
}

/** One line: `3 dispatch(es): 2 completed, 1 failed; 1200 input + 300 output tokens, $0.0123`. */
export function statsHeadline(report: StatsReport): string {
  const parts = Object.entries(report.summary.by_outcome).map(([k, v]) => `${v} ${k}`);
  const u = report.summary.usage;
  const usage =
    u.workspaces === 0
      ? ''
      : `; ${u.input_tokens} input + ${u.output_tokens} output tokens${u.cost_usd !== undefined ? `, $${u.cost_usd.toFixed(4)}` : ''}`;
  return `${report.summary.count} dispatch(es): ${parts.join(', ') || 'none'}${usage}`;
}

/** The fields of a terminal version a stats row is made of: its record, or its journal line. */
export type StatsSource = Pick<
  StatusRecord,
  'repo' | 'org' | 'agent' | 'status' | 'runs' | 'started_at' | 'updated_at'
>;

/**
 * The stats row of one committed version of `name`. The journal commit and the rebuild of a
 * damaged database both build it here, so a rebuilt row equals the row the commit wrote.
 */
export function statsRowOf(name: string, version: StatsSource, committedAt: string): StatsRow {
  const started = version.started_at || null;
  const ms = started === null ? NaN : Date.parse(version.updated_at) - Date.parse(started);
  return {
    workspace: name,
    repo: version.repo,
    org: version.org,
    agent: version.agent,
    model: modelOf(version.agent) ?? null,
    outcome: version.status,
    runs: version.runs,
    duration_ms: Number.isFinite(ms) && ms >= 0 ? ms : null,
    started_at: started,
    ended_at: version.updated_at,
    committed_at: committedAt,
    fingerprint: fingerprintOf(version),
  };
}
