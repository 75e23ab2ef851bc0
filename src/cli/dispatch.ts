import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import type { AppContext } from '../context.js';
import {
  cancelWorkspace,
  continuedNote,
  enqueueDispatch,
  resumeWorkspace,
} from '../dispatch/service.js';
import { leaseHeld } from '../dispatch/lease.js';
import { lastLogLine, logPath } from '../dispatch/launch.js';
import { dispatchSummary } from '../dispatch/status-report.js';
import { Runner } from '../dispatch/runner.js';
import { pausedPoolsFromFile } from '../dispatch/runtime-state.js';
import { renderLogLine } from '../dispatch/transcript.js';
import { commitWorkspace, needsCommit } from '../lifecycle/commit.js';
import { readRecord } from '../lifecycle/index.js';
import { DELIVER_MODES } from '../config/index.js';
import { AgenticError } from '../lib/errors.js';
import { printable } from '../lib/text.js';
import {
  isSettled,
  isTerminal,
  parseWorkspaceName,
  poolOf,
  workspaceDir,
  type StatusRecord,
} from '../workspace/index.js';
import {
  age,
  EXIT,
  integer,
  oneLine,
  oneOf,
  positiveInt,
  runVerb,
  usage,
  writeJson,
} from './common.js';

/** Registers dispatch, resume, cancel, logs and commit. */
export function registerDispatch(program: Command): void {
  program
    .command('dispatch')
    .description(
      'queue a task for an agent in a fresh workspace (a clone of --repo on its own branch)',
    )
    .requiredOption('--repo <path|url>', 'local git repository or git URL')
    .option('--task <text>', 'what the agent should do')
    .option(
      '--task-file <path>',
      'read the task from a file, "-" for stdin (for tasks too long for a command line)',
    )
    .option('--agent <agent>', 'base[:model], e.g. codex:gpt-5.4 (default: dispatch.default_agent)')
    .option(
      '--org <org>',
      'organisation segment of the workspace name (default: dispatch.default_org)',
    )
    .option('--name <repo>', 'repository segment of the workspace name (default: from --repo)')
    .option('--issue <n>', 'issue number: workspace leaf task-<n>', positiveInt)
    .option('--pr <n>', 'pull request number: workspace leaf pr-<n>', positiveInt)
    .option(
      '--branch <branch>',
      'working branch (default: agent/<task slug>); also the leaf when no --issue/--pr',
    )
    .option('--priority <p>', 'higher runs first (default 0)', integer)
    .option(
      '--base <ref>',
      "branch or commit the agent starts from (default: the source's current branch)",
    )
    .option(
      '--deliver <mode>',
      `hand-back when done: ${DELIVER_MODES.join(' or ')} (default: deliver.mode in agents.yaml, else none)`,
      oneOf(DELIVER_MODES),
    )
    .option('--wait', 'wait for the end, showing progress on stderr; exit 0 only if completed')
    .option('--json', 'print one JSON document')
    .action(async (opts: DispatchOpts, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
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
          process.stdout.write(`queued ${workspace} (${record.agent})\n`);
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
      }),
    );

  program
    .command('resume <workspace>')
    .description('queue a blocked, failed or finished workspace again')
    .option('--answer <text>', 'answer to the agent’s question (written to repo/ANSWER.md)')
    .option('--agent <agent>', 'switch to another agent')
    .option('--json', 'print one JSON document')
    .action(async (name: string, opts: { answer?: string; agent?: string }, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        parseWorkspaceName(name);
        const record = await resumeWorkspace(ctx, name, opts);
        if (common.json) return writeJson(dispatchSummary(name, record));
        process.stdout.write(`queued ${name} again (${record.agent})\n`);
      }),
    );

  program
    .command('cancel <workspace>')
    .description('cancel a queued, running or blocked workspace')
    .option('--json', 'print one JSON document')
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        parseWorkspaceName(name);
        const requested = await cancelWorkspace(ctx, name);
        // A running agent is only signalled here; answer with the status it ends in, not the
        // `running` it had, unless it outlives the wait (then `cancel_pending` says so).
        const record =
          requested.status === 'running' ? await settled(ctx, name, CANCEL_WAIT_MS) : requested;
        const pending = record.status === 'running';
        if (common.json)
          return writeJson({ ...dispatchSummary(name, record), cancel_pending: pending });
        process.stdout.write(
          pending ? `stopping ${name} (still running)\n` : `${name}: ${record.status}\n`,
        );
      }),
    );

  program
    .command('logs <workspace>')
    .description("print the agent's output as a transcript (--raw: exactly as the CLI wrote it)")
    .option('--follow', 'keep printing until the workspace finishes')
    .option('--raw', "the log as written: the CLI's JSON events, colour and all")
    .option('--json', 'print one JSON document {workspace, status, agent, path, output}')
    .action(async (name: string, opts: { follow?: boolean; raw?: boolean }, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        parseWorkspaceName(name);
        if (common.json && opts.follow) usage('follow', '--follow and --json do not go together');
        const record = await readRecord(ctx, name);
        if (!record)
          throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
            field: 'workspace',
          });
        const path = logPath(workspaceDir(ctx.config.workspaceRoot, name), poolOf(record.agent));
        if (common.json)
          return writeJson({
            workspace: name,
            status: record.status,
            agent: record.agent,
            path,
            output: existsSync(path) ? readFileSync(path, 'utf8') : '',
          });
        const out = opts.raw ? rawWriter() : transcriptWriter();
        let offset = copyFrom(path, 0, out.write);
        while (opts.follow) {
          const now = await readRecord(ctx, name);
          if (!now || isTerminal(now.status)) break;
          await new Promise((r) => setTimeout(r, 250));
          offset = copyFrom(path, offset, out.write);
        }
        copyFrom(path, offset, out.write);
        out.end();
      }),
    );

  program
    .command('commit <workspace>')
    .description("append the workspace's final record to its journal (idempotent)")
    .option('--json', 'print one JSON document')
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        const result = await commitWorkspace(ctx, name);
        if (common.json) return writeJson(result);
        process.stdout.write(
          result.skipped
            ? `${name}: already committed at ${result.committed_at}\n`
            : `${name}: committed to ${result.journal_path}\n`,
        );
      }),
    );
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

interface DispatchOpts {
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
  wait?: boolean;
}

/** How long `cancel` waits for a running agent to end before answering. */
const CANCEL_WAIT_MS = 15_000;

/** The record once terminal, or as it is after `ms`. */
async function settled(ctx: AppContext, name: string, ms: number): Promise<StatusRecord> {
  const deadline = Date.now() + ms;
  for (;;) {
    const record = await readRecord(ctx, name);
    if (!record) throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace vanished: ${name}`);
    if (isTerminal(record.status) || Date.now() >= deadline) return record;
    await new Promise((r) => setTimeout(r, 100));
  }
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

function copyFrom(path: string, offset: number, write: (buf: Buffer) => void): number {
  if (!existsSync(path)) return offset;
  const size = statSync(path).size;
  if (size <= offset) return offset;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    write(buf);
  } finally {
    closeSync(fd);
  }
  return size;
}

interface LogWriter {
  write(buf: Buffer): void;
  end(): void;
}

function rawWriter(): LogWriter {
  return { write: (buf) => process.stdout.write(buf), end: () => undefined };
}

/** Renders whole lines as they arrive; a line still being written waits for its end. */
function transcriptWriter(): LogWriter {
  let pending = '';
  const emit = (line: string): void => {
    for (const out of renderLogLine(line)) process.stdout.write(`${printable(out)}\n`);
  };
  return {
    write(buf) {
      const lines = (pending + buf.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(emit);
    },
    end() {
      if (pending !== '') emit(pending);
      pending = '';
    },
  };
}
