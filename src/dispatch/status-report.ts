// The status report and the one description of a workspace as operators and lead agents see it:
// `agentic status`, the runner's listing, the MCP status tool, `dispatch --json` and the MCP
// completion notice all project a record through here, each with its own keys in its own order.
// The shapes are described once, in zod, in status-schema.ts (types only here: no zod at start).
import { deliveryState } from '../deliver/review-state.js';
import type { NodeLeases } from '../fleet/placement.js';
import { STATUSES, type Status } from '../workspace/statuses.js';
import { type StatusRecord } from '../workspace/record.js';
import { NOTICE_KEYS, pick, ROW_KEYS, SUMMARY_KEYS } from './status-keys.js';
import type {
  CompletionNotice,
  DispatchSummary,
  StatusRow,
  WorkspaceView,
} from './status-schema.js';

export type { CompletionNotice, DispatchSummary, StatusRow } from './status-schema.js';

/** Why a queued record cannot start anywhere: its pinned node is not live. Null otherwise. */
export function waitingFor(r: StatusRecord, leases: NodeLeases | undefined): string | null {
  if (r.status !== 'queued' || r.node_affinity === undefined || leases === undefined) return null;
  const lease = leases.get(r.node_affinity);
  if (lease === 'live') return null;
  const why = lease === undefined ? 'unknown node' : lease === 'lost' ? 'lost' : 'lease expired';
  return `waiting for node ${r.node_affinity} (not live: ${why})`;
}

/** True when some queued record is pinned to a node: only then does a status need the leases. */
export function hasPinnedWork(records: ReadonlyMap<string, StatusRecord>): boolean {
  for (const r of records.values())
    if (r.status === 'queued' && r.node_affinity !== undefined) return true;
  return false;
}

/** Projects a record to every field of a workspace view, in the status row's order. */
function workspaceView(name: string, r: StatusRecord, leases?: NodeLeases): WorkspaceView {
  return {
    name,
    status: r.status,
    agent: r.agent,
    repo: r.repo,
    org: r.org,
    branch: r.branch,
    runs: r.runs,
    pid: r.pid ?? null,
    node: r.node ?? null,
    question: r.question ?? null,
    started_at: r.started_at ?? null,
    updated_at: r.updated_at,
    changes: r.changes ?? null,
    delivery: deliveryState(r) ?? null,
    pr_url: r.pr_url ?? null,
    node_affinity: r.node_affinity ?? null,
    waiting: waitingFor(r, leases),
    exit_code: r.exit_code ?? null,
  };
}

/** The status row of a record; `leases` (fleet mode) explains pinned work that waits. */
export function workspaceRow(name: string, r: StatusRecord, leases?: NodeLeases): StatusRow {
  return pick(workspaceView(name, r, leases), ROW_KEYS);
}

/** The `dispatch --json` summary of a record. */
export function dispatchSummary(name: string, r: StatusRecord): DispatchSummary {
  return { workspace: name, ...pick(workspaceView(name, r), SUMMARY_KEYS) };
}

/** The completion notice of a record that reached a terminal status. */
export function completionNotice(name: string, r: StatusRecord): CompletionNotice {
  return {
    event: 'dispatch_finished',
    workspace: name,
    ...pick(workspaceView(name, r), NOTICE_KEYS),
  };
}

/** Counts per status plus the total, as `agentic status --json` prints them. */
export type StatusCounts = Record<'total' | Status, number>;

// Built on first use: creating a collator loads ICU data, which costs more CPU than everything
// else `agentic status` does on an empty root.
let natural: Intl.Collator | undefined;

/** Orders workspace names naturally, so `task-3` comes before `task-11`. */
export function naturalOrder(a: string, b: string): number {
  natural ??= new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });
  return natural.compare(a, b);
}

/**
 * Builds the status report from records: counts over everything, rows filtered, in natural name
 * order, pinned work waiting for a node that is not live explained from `leases`; `limit` keeps the most recently updated rows (still shown in name order).
 */
export function statusReport(
  records: ReadonlyMap<string, StatusRecord>,
  filter: {
    workspace?: string | undefined;
    status?: Status | undefined;
    limit?: number | undefined;
  },
  leases?: NodeLeases,
): { counts: StatusCounts; workspaces: StatusRow[] } {
  const counts = Object.fromEntries([['total', 0], ...STATUSES.map((s) => [s, 0])]) as StatusCounts;
  const rows: StatusRow[] = [];
  for (const [name, r] of [...records].sort(([a], [b]) => naturalOrder(a, b))) {
    counts.total += 1;
    counts[r.status] += 1;
    if (filter.workspace !== undefined && name !== filter.workspace) continue;
    if (filter.status !== undefined && r.status !== filter.status) continue;
    rows.push(workspaceRow(name, r, leases));
  }
  if (filter.limit === undefined || rows.length <= filter.limit)
    return { counts, workspaces: rows };
  const newest = new Set(
    [...rows]
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at) || naturalOrder(a.name, b.name))
      .slice(0, filter.limit),
  );
  return { counts, workspaces: rows.filter((r) => newest.has(r)) };
}
