import type { Command } from 'commander';
import type { AppContext } from '../../context.js';
import { cancelWorkspace, resumeWorkspace } from '../../dispatch/control.js';

import { dispatchSummary } from '../../dispatch/status-report.js';

import { commitWorkspace } from '../../lifecycle/commit.js';
import { readRecord } from '../../lifecycle/index.js';

import { AgenticError } from '../../lib/errors.js';

import { isTerminal, parseWorkspaceName, type StatusRecord } from '../../workspace/index.js';
import { runVerb, writeJson } from './run-verb.js';

/** Runs `resume`. */
export async function resume(
  name: string,
  opts: { answer?: string; agent?: string },
  cmd: Command,
): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    parseWorkspaceName(name);
    const record = await resumeWorkspace(ctx, name, opts);
    if (common.json) return writeJson(dispatchSummary(name, record));
    process.stdout.write(`queued ${name} again (${record.agent})\n`);
  });
}

/** Runs `cancel`. */
export async function cancel(name: string, _opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
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
  });
}

/** Runs `commit`. */
export async function commit(name: string, _opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const result = await commitWorkspace(ctx, name);
    if (common.json) return writeJson(result);
    process.stdout.write(
      result.skipped
        ? `${name}: already committed at ${result.committed_at}\n`
        : `${name}: committed to ${result.journal_path}\n`,
    );
  });
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
