import type { Command } from 'commander';
import { pausedPoolsFromFile } from '../dispatch/runtime-state.js';
import { readAllRecords } from '../lifecycle/index.js';
import { deliveryState } from '../deliver/index.js';
import {
  parseWorkspaceName,
  STATUSES,
  type Changes,
  type Status,
  type StatusRecord,
} from '../workspace/index.js';
import { AgenticError } from '../lib/errors.js';
import {
  age,
  EXIT,
  oneLine,
  oneOf,
  positiveInt,
  reportError,
  runVerb,
  writeJson,
  writeTable,
} from './common.js';

/** Counts per status plus the total, as `agentic status --json` prints them. */
export type StatusCounts = Record<'total' | Status, number>;

/** One workspace row of `agentic status --json`. */
export interface StatusRow {
  name: string;
  status: Status;
  agent: string;
  repo: string;
  org: string;
  branch: string;
  runs: number;
  pid: number | null;
  question: string | null;
  started_at: string | null;
  updated_at: string;
  /** What the agent changed against its base, once harvested. */
  changes: Changes | null;
  /** `checking` (closeout running), `awaiting review`, `delivered`, or null. */
  delivery: string | null;
  /** The pull request the work was delivered as. */
  pr_url: string | null;
}

/** Orders workspace names naturally, so `task-3` comes before `task-11`. */
export function naturalOrder(a: string, b: string): number {
  return NATURAL.compare(a, b);
}

const NATURAL = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

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
    rows.push({
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
    });
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

/** Registers `agentic status`. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show every workspace and its status')
    .option('--workspace <name>', 'only this workspace (org/repo/leaf)')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`, oneOf(STATUSES))
    .option('--limit <n>', 'at most this many rows', positiveInt)
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace?: string; status?: Status; limit?: number }, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        if (opts.workspace !== undefined) parseWorkspaceName(opts.workspace);
        const records = await readAllRecords(ctx);
        // Asking about a workspace that does not exist is a failed lookup (exit 1), not bad input.
        if (opts.workspace !== undefined && !records.has(opts.workspace)) {
          reportError(
            new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${opts.workspace}`, {
              field: 'workspace',
            }),
            common.json === true,
          );
          return EXIT.failed;
        }
        const report = statusReport(records, opts);
        const paused = pausedPoolsFromFile(ctx.config.coreRoot, ctx.clock.now());
        if (common.json) return writeJson({ ...report, paused });
        const c = report.counts;
        process.stdout.write(
          `${c.total} workspaces: ${c.queued} queued, ${c.running} running, ${c.completed} completed, ${c.failed} failed, ` +
            `${c.blocked} blocked, ${c.merged} merged, ${c.cancelled} cancelled\n`,
        );
        for (const p of paused)
          process.stdout.write(
            `pool ${p.pool} paused until ${p.until}: ${oneLine(p.reason, 160)} (agentic start clears it)\n`,
          );
        if (report.workspaces.length === 0) return;
        const now = ctx.clock.now();
        writeTable(
          ['NAME', 'STATUS', 'AGENT', 'RUNS', 'AGE', 'QUESTION / PR'],
          report.workspaces.map((w) => [
            w.name,
            w.delivery ? `${w.status} (${w.delivery})` : w.status,
            w.agent,
            w.runs,
            age(w.updated_at, now),
            w.question ? oneLine(w.question) : (w.pr_url ?? ''),
          ]),
        );
      }),
    );
}
