import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AppContext } from '../../context.js';
import { continuedNote, enqueueDispatch } from '../../dispatch/enqueue.js';
import { leaseHeld } from '../../dispatch/runner-lease.js';
import { lastLogLine, logPath } from '../../dispatch/launch.js';
import { dispatchSummary } from '../../dispatch/status-report.js';
import { Runner } from '../../dispatch/runner.js';
import { pausedPoolsFromFile } from '../../dispatch/runtime-state.js';

import { needsCommit } from '../../lifecycle/commit.js';
import { readRecord } from '../../lifecycle/index.js';

import { AgenticError } from '../../lib/errors.js';

import { isSettled, poolOf, workspaceDir, type StatusRecord } from '../../workspace/index.js';
import { age, EXIT, oneLine, runVerb, writeJson } from './run-verb.js';

/** Runs `dispatch`. */
export async function dispatch(opts: DispatchOpts, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const { workspace, record, continued } = await enqueueDispatch(ctx, {
      ...opts,
      task: taskOf(opts),
    });
    // Continuing an existing workspace is never silent: its branch and commits carry on.
    if (continued && !common.json)
      process.stderr.write(`agentic: ${continuedNote(workspace, continued)}\n`);
    if (!opts.wait) {
      // Queued work waits for a runner: say so when none is up, or it looks lost.
      const runner = leaseHeld(ctx.config.coreRoot, ctx.clock.now());
      if (common.json)
        return writeJson({
          ...dispatchSummary(workspace, record),
          runner_running: runner,
          continued: continued ?? null,
        });
      const pinned = record.node_affinity === undefined ? '' : ` on node ${record.node_affinity}`;
      process.stdout.write(`queued ${workspace} (${record.agent})${pinned}\n`);
      if (!runner)
        process.stderr.write(
          'agentic: queued; no runner is running — start `agentic daemon` (or use --wait)\n',
        );
      return;
    }
    const final = await waitFor(ctx, workspace);
    if (common.json) writeJson(dispatchSummary(workspace, final));
    else
      process.stdout.write(
        `${workspace}: ${final.status}${final.question ? ` — ${oneLine(final.question, 200)}` : ''}\n`,
      );
    return final.status === 'completed' || final.status === 'merged' ? EXIT.ok : EXIT.failed;
  });
}

/** The task from `--task` or `--task-file` (exactly one of them). */
function taskOf(opts: DispatchOpts): string {
  if ((opts.task === undefined) === (opts.taskFile === undefined))
    throw new AgenticError(
      'INPUT_INVALID',
      'give the task with exactly one of --task and --task-file',
      {
        field: 'task',
      },
    );
  if (opts.task !== undefined) return opts.task;
  const path = opts.taskFile === '-' ? 0 : (opts.taskFile ?? '');
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgenticError('INPUT_INVALID', `cannot read --task-file: ${(err as Error).message}`, {
      field: 'task',
    });
  }
}

export interface DispatchOpts {
  repo: string;
  task?: string;
  taskFile?: string;
  agent?: string;
  org?: string;
  name?: string;
  issue?: number;
  pr?: number;
  branch?: string;
  priority?: number;
  base?: string;
  deliver?: string;
  node?: string;
  wait?: boolean;
}

/** How long `--wait` with an embedded runner waits for a settled run's journal commit. */
const COMMIT_WAIT_MS = 60_000;

/** Waits for a workspace to reach a terminal status, running an embedded runner when no runner holds the lease. */
async function waitFor(ctx: AppContext, name: string): Promise<StatusRecord> {
  const runner = leaseHeld(ctx.config.coreRoot, ctx.clock.now())
    ? undefined
    : await Runner.start(ctx);
  const tty = process.stderr.isTTY === true;
  let lastLine = '';
  let settledAt: number | undefined;
  try {
    for (;;) {
      const record = await readRecord(ctx, name);
      if (!record) throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace vanished: ${name}`);
      if (isSettled(record)) {
        // An embedded runner is closed (and the process may exit) once this returns: the run's
        // journal line and its history and stats rows are committed by then, not left to the
        // next runner (bounded, should the commit keep failing).
        settledAt ??= Date.now();
        if (
          runner === undefined ||
          !needsCommit(ctx, name, record) ||
          Date.now() - settledAt > COMMIT_WAIT_MS
        ) {
          if (tty) process.stderr.write('\n');
          return record;
        }
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const line = progressLine(ctx, name, record);
      if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else if (line.replace(/ \d+[smhd]\b.*$/, '') !== lastLine.replace(/ \d+[smhd]\b.*$/, ''))
        process.stderr.write(`${line}\n`);
      lastLine = line;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await runner?.close();
  }
}

function progressLine(ctx: AppContext, name: string, r: StatusRecord): string {
  const now = ctx.clock.now();
  if (r.status === 'queued') {
    const pause = pausedPoolsFromFile(ctx.config.coreRoot, now).find(
      (p) => p.pool === poolOf(r.agent),
    );
    if (pause)
      return `${name}: waiting for ${pause.pool} ${oneLine(pause.reason, 80)} until ${pause.until}`;
    return `${name}: queued ${age(r.queued_at, now)}`;
  }
  if (r.checks_wait !== undefined)
    return `${name}: waiting for the checks of pull request #${r.pr_number ?? '?'} (until ${r.checks_wait.deadline})`;
  if (r.closeout === 'pending') return `${name}: checking the work (harvest, QA, hand-back)`;
  if (r.pid === undefined) return `${name}: preparing`;
  const log = lastLogLine(logPath(workspaceDir(ctx.config.workspaceRoot, name), poolOf(r.agent)));
  return `${name}: running ${age(r.started_at, now)}${log ? ` | ${oneLine(log, 80)}` : ''}`;
}
