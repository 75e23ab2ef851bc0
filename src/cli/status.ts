import type { Command } from 'commander';
import { pausedPoolsFromFile } from '../dispatch/runtime-state.js';
import { readAllRecords } from '../lifecycle/index.js';
import {
  parseWorkspaceName,
  STATUSES,
  type Status,
  type StatusRecord,
} from '../workspace/index.js';
import { age, oneLine, oneOf, positiveInt, runVerb, writeJson, writeTable } from './common.js';

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
}

/** Builds the status report from records: counts over everything, rows filtered and limited. */
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
  for (const [name, r] of [...records].sort(([a], [b]) => a.localeCompare(b))) {
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
    });
  }
  return { counts, workspaces: filter.limit === undefined ? rows : rows.slice(0, filter.limit) };
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
        const report = statusReport(await readAllRecords(ctx), opts);
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
          ['NAME', 'STATUS', 'AGENT', 'RUNS', 'AGE', 'QUESTION'],
          report.workspaces.map((w) => [
            w.name,
            w.status,
            w.agent,
            w.runs,
            age(w.updated_at, now),
            oneLine(w.question ?? ''),
          ]),
        );
      }),
    );
}
