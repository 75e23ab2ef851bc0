import { z } from 'zod';
import { presenceOf, type Presence } from './presence.js';
import type { DashboardDispatchRow, DashboardFilter, HubStorage } from './storage/types.js';

/** A fleet node as the dashboard shows it. */
export interface DashboardNode {
  agent_id: string;
  fleet_node_id: string | null;
  status: Presence;
  last_push_at: string | null;
  last_pull_at: string | null;
  dispatches: number;
}

/** A dispatch row as the dashboard shows it; `duration_ms` runs to `updated_at` once terminal, to now while running. */
export interface DashboardDispatch {
  agent_id: string;
  fleet_node_id: string | null;
  id: string;
  org: string | null;
  repo: string | null;
  agent: string | null;
  status: string | null;
  task: string | null;
  question: string | null;
  pr_url: string | null;
  branch: string | null;
  /** What the agent changed against its base, when the node harvested it. */
  changes: DispatchChanges | null;
  /** The QA verdict and its one-line summary, when QA ran. */
  qa: { passed: boolean; summary_text: string } | null;
  /** Where the work was handed back, when it was. */
  delivered: { mode: string; ref: string } | null;
  started_at: string | null;
  updated_at: string | null;
  received_at: string;
  duration_ms: number | null;
}

/** A dispatch's change size as the node recorded it. */
export type DispatchChanges = z.infer<typeof changesShape>;

// Pushed records come from other machines: the dashboard takes these fields only when they
// have the shape a node writes, and shows nothing for them otherwise.
const count = z.number().int().nonnegative();
const changesShape = z.object({
  commits: count,
  files_changed: count,
  insertions: count,
  deletions: count,
});
const qaShape = z.object({ passed: z.boolean(), summary_text: z.string().max(500) });
const deliveredShape = z.object({ mode: z.string().max(20), ref: z.string().max(300) });

function shaped<T>(schema: z.ZodType<T>, value: unknown): T | null {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** The JSON document behind the dashboard page (`GET /v1/dashboard`). */
export interface DashboardData {
  generated_at: string;
  nodes: DashboardNode[];
  /** Current dispatches per status across the fleet (unfiltered), or of one agent for an agent token. */
  counts: Record<string, number>;
  total: number;
  /** Current dispatches matching the filter, most recently received first. */
  dispatches: DashboardDispatch[];
}

/**
 * Gathers the dashboard document at `now`: the whole fleet, or only `scope`'s node, counts and
 * dispatches when a scope (one agent id) is given.
 */
export async function dashboardData(
  storage: HubStorage,
  filter: DashboardFilter,
  now: Date,
  onlineWindowMs: number,
  scope?: string,
): Promise<DashboardData> {
  const [all, counts, rows] = await Promise.all([
    storage.agents(),
    storage.statusCounts(scope),
    storage.recentDispatches(scope === undefined ? filter : { ...filter, agentId: scope }),
  ]);
  const agents = scope === undefined ? all : all.filter((a) => a.agentId === scope);
  return {
    generated_at: now.toISOString(),
    nodes: agents.map((a) => ({
      agent_id: a.agentId,
      fleet_node_id: a.fleetNodeId,
      status: presenceOf(a, now, onlineWindowMs),
      last_push_at: a.lastPushAt,
      last_pull_at: a.lastPullAt,
      dispatches: a.dispatches,
    })),
    counts,
    total: Object.values(counts).reduce((sum, n) => sum + n, 0),
    dispatches: rows.map((r) => dashboardDispatch(r, now)),
  };
}

function dashboardDispatch(row: DashboardDispatchRow, now: Date): DashboardDispatch {
  const r = row.record;
  const status = str(r['status']);
  const startedAt = str(r['started_at']);
  const updatedAt = str(r['updated_at']);
  return {
    agent_id: row.agentId,
    fleet_node_id: row.fleetNodeId,
    id: row.id,
    org: str(r['org']),
    repo: str(r['repo']),
    agent: str(r['agent']),
    status,
    task: str(r['task']),
    question: str(r['question']),
    pr_url: str(r['pr_url']),
    branch: str(r['branch']),
    changes: shaped(changesShape, r['changes']),
    qa: shaped(qaShape, r['qa']),
    delivered: shaped(deliveredShape, r['delivered']),
    started_at: startedAt,
    updated_at: updatedAt,
    received_at: row.receivedAt,
    duration_ms: durationMs(status, startedAt, updatedAt, now),
  };
}

function durationMs(
  status: string | null,
  startedAt: string | null,
  updatedAt: string | null,
  now: Date,
): number | null {
  if (startedAt === null || status === 'queued') return null;
  const start = Date.parse(startedAt);
  const end = status === 'running' ? now.getTime() : Date.parse(updatedAt ?? '');
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  return Math.max(0, end - start);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
