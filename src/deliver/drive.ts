import type { AppContext } from '../context.js';
import { commitWorkspace } from '../lifecycle/commit.js';
import { readRecord } from '../lifecycle/index.js';
import { AgenticError } from '../lib/errors.js';
import type { StatusRecord } from '../workspace/index.js';
import { checksWaitDueIn } from './checks-wait.js';
import { closeoutRun } from './closeout.js';

/** Longest sleep between two looks at the record, so a reject or a runner's poll is noticed soon. */
const LOOK_MS = 1000;

/**
 * Runs the checks wait of one workspace in this process (`agentic accept --merge-pr`) until it
 * ends: each poll is the same step the runner takes, and the wait stays on the record, so if
 * this process dies the next runner start carries it on. The outcome is journaled; returns the
 * final record (`queued` when a CI fix round resumed the agent: a runner takes it from there).
 */
export async function driveChecksWait(
  ctx: AppContext,
  name: string,
  progress: (record: StatusRecord) => void = () => undefined,
): Promise<StatusRecord> {
  for (;;) {
    const record = await readRecord(ctx, name);
    if (!record)
      throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace vanished: ${name}`, {
        field: 'workspace',
      });
    if (record.closeout !== 'pending' || record.checks_wait === undefined) {
      if (record.closeout !== 'pending' && record.status !== 'queued')
        await commitWorkspace(ctx, name);
      return record;
    }
    const due = checksWaitDueIn(record, ctx.clock.now());
    if (due > 0) {
      await new Promise((r) => setTimeout(r, Math.min(due, LOOK_MS)));
      continue;
    }
    const next = await closeoutRun(ctx, name, record);
    if (next !== undefined) progress(next);
  }
}
