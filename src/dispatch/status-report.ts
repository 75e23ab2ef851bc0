// The status report and the one description of a workspace as operators and lead agents see it:
// `agentic status`, the runner's listing, the MCP status tool, `dispatch --json` and the MCP
// completion notice all project a record through here, each with its own keys in its own order.
import { z } from 'zod';
import { deliveryState } from '../deliver/review-state.js';
import { STATUSES, type Status } from '../workspace/statuses.js';
import { changesSchema, type StatusRecord } from '../workspace/record.js';

/** Every field a workspace view can carry, each described once. */
const workspaceFields = {
  name: z.string(),
  status: z.enum(STATUSES),
  agent: z.string(),
  repo: z.string(),
  org: z.string(),
  branch: z.string(),
  runs: z.number().int(),
  pid: z.number().int().nullable(),
  question: z.string().nullable(),
  started_at: z.string().nullable(),
  updated_at: z.string(),
  changes: changesSchema
    .nullable()
    .describe('What the agent changed against its base, once harvested'),
  delivery: z
    .enum(['checking', 'awaiting review', 'delivered'])
    .nullable()
    .describe('checking (closeout running), awaiting review, delivered, or null'),
  pr_url: z.string().nullable().describe('The pull request the work was delivered as'),
  exit_code: z.number().int().nullable().describe("The agent's exit code of the last run"),
};

/** A record seen from outside, every optional field null; see {@link workspaceView}. */
type WorkspaceView = { [K in keyof typeof workspaceFields]: z.infer<(typeof workspaceFields)[K]> };

/** Projects a record to every field of a workspace view, in the status row's order. */
function workspaceView(name: string, r: StatusRecord): WorkspaceView {
  return {
    name,
    status: r.status,
    agent: r.agent,
    repo: r.repo,
    org: r.org,
    branch: r.branch,
    runs: r.runs,
    pid: r.pid ?? null,
    question: r.question ?? null,
    started_at: r.started_at ?? null,
    updated_at: r.updated_at,
    changes: r.changes ?? null,
    delivery: deliveryState(r) ?? null,
    pr_url: r.pr_url ?? null,
    exit_code: r.exit_code ?? null,
  };
}

/** The entries of `from` named by `keys`, in that order (the order JSON output shows). */
function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, from[k]])) as Pick<T, K>;
}

/** A status row is the whole view but the exit code, which only the run's own reports carry. */
const ROW_KEYS = (Object.keys(workspaceFields) as Array<keyof WorkspaceView>).filter(
  (k): k is Exclude<keyof WorkspaceView, 'exit_code'> => k !== 'exit_code',
);

/** One workspace row of `agentic status --json` and of the MCP status tool. */
export const workspaceRowSchema = z.object(pick(workspaceFields, ROW_KEYS));
/** One workspace row of `agentic status --json`. */
export type StatusRow = z.infer<typeof workspaceRowSchema>;

/** The status row of a record. */
export function workspaceRow(name: string, r: StatusRecord): StatusRow {
  return pick(workspaceView(name, r), ROW_KEYS);
}

const SUMMARY_KEYS = [
  'status',
  'agent',
  'repo',
  'org',
  'branch',
  'runs',
  'question',
  'exit_code',
  'updated_at',
] as const;

/** What `agentic dispatch --json` prints about the workspace it queued (or waited for). */
export const dispatchSummarySchema = z.object({
  workspace: workspaceFields.name,
  ...pick(workspaceFields, SUMMARY_KEYS),
});
/** See {@link dispatchSummarySchema}. */
export type DispatchSummary = z.infer<typeof dispatchSummarySchema>;

/** The `dispatch --json` summary of a record. */
export function dispatchSummary(name: string, r: StatusRecord): DispatchSummary {
  return { workspace: name, ...pick(workspaceView(name, r), SUMMARY_KEYS) };
}

const NOTICE_KEYS = ['status', 'question', 'agent', 'repo', 'runs', 'exit_code'] as const;

/** The data of an MCP completion notification (a `notifications/message` with logger `agentic`). */
export const completionNoticeSchema = z.object({
  event: z.literal('dispatch_finished'),
  workspace: workspaceFields.name,
  ...pick(workspaceFields, NOTICE_KEYS),
});
/** See {@link completionNoticeSchema}. */
export type CompletionNotice = z.infer<typeof completionNoticeSchema>;

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

const NATURAL = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Orders workspace names naturally, so `task-3` comes before `task-11`. */
export function naturalOrder(a: string, b: string): number {
  return NATURAL.compare(a, b);
}

/**
 * Builds the status report from records: counts over everything, rows filtered, in natural name
 * order; `limit` keeps the most recently updated rows (still shown in name order).
 */
export function statusReport(
  records: ReadonlyMap<string, StatusRecord>,
  filter: {
    workspace?: string | undefined;
    status?: Status | undefined;
    limit?: number | undefined;
  },
): { counts: StatusCounts; workspaces: StatusRow[] } {
  const counts = Object.fromEntries([['total', 0], ...STATUSES.map((s) => [s, 0])]) as StatusCounts;
  const rows: StatusRow[] = [];
  for (const [name, r] of [...records].sort(([a], [b]) => naturalOrder(a, b))) {
    counts.total += 1;
    counts[r.status] += 1;
    if (filter.workspace !== undefined && name !== filter.workspace) continue;
    if (filter.status !== undefined && r.status !== filter.status) continue;
    rows.push(workspaceRow(name, r));
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
