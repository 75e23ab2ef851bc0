import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { readTail, readTextIfExists } from '../lib/fs.js';
import { poolOf, workspaceDir, type StatusRecord } from '../workspace/index.js';
import { logPath } from './launch.js';
import type { FailureBackoff, RuntimeState } from './runtime-state.js';
import { readAgentReport } from './agent-output.js';
import { accountRun, readRunReport, type RunReport } from './agent-usage.js';
import {
  clip,
  failure,
  MAX_QUESTION,
  REFUSES_QUIETLY,
  SESSION_GONE,
  type Decision,
} from './failure.js';
import type { FinishItem, RunEnd, RunRef } from './run-end.js';

/** How much of an agent's log is read for its own error output and usage-limit messages. */
const USAGE_TAIL_BYTES = 64 * 1024;
/** The ghost question (docs/ARCHITECTURE.md). */
export const GHOST_QUESTION = 'agent process died while the dispatcher was down';

/** What a run left in its workspace, read before any store access: BLOCKED.md and the CLI's report. */
export interface RunFacts {
  blocked: string | undefined;
  report: RunReport | undefined;
}

/** The facts of each run in `items`, by workspace name. */
export function readRunFacts(ctx: AppContext, items: readonly FinishItem[]): Map<string, RunFacts> {
  return new Map(
    items.map((i) => {
      const dir = workspaceDir(ctx.config.workspaceRoot, i.name);
      const blocked = readTextIfExists(join(dir, 'repo', 'BLOCKED.md'));
      return [i.name, { blocked, report: readRunReport(dir) }];
    }),
  );
}

/** True when `record` is still the run `ref` names: running, same run, same pid. */
export function isThisRun(record: StatusRecord | undefined, ref: RunRef): record is StatusRecord {
  return record?.status === 'running' && record.runs === ref.runs && record.pid === ref.pid;
}

/**
 * What a run's end makes of workspace `name`'s running record: the final status by precedence
 * (repo/BLOCKED.md → blocked; killed, timed out, vanished or non-zero → failed, except a usage
 * limit → queued again with back-off; otherwise completed), usage accounted, the pid cleared
 * (runs kept); and whether it was a fast failure, which counts towards the pool's back-off.
 * A usage limit sets the pool's back-off in `runtime`.
 */
export function runOutcome(
  ctx: AppContext,
  name: string,
  record: StatusRecord,
  end: RunEnd,
  facts: RunFacts | undefined,
  counting: { now: Date; runtime: RuntimeState; policy: FailureBackoff },
): { record: StatusRecord; fast: boolean } {
  const { now, runtime, policy } = counting;
  const dir = workspaceDir(ctx.config.workspaceRoot, name);
  const decided = decide(ctx, record, end, facts?.blocked, dir, now, runtime);
  const startedMs = record.started_at ? Date.parse(record.started_at) : now.getTime();
  const endedMs = end.kind === 'exited' ? end.endedAt.getTime() : now.getTime();
  const fast =
    decided.status === 'failed' &&
    decided.countsAsFailure &&
    endedMs - startedMs < policy.within_seconds * 1000;
  const { kill_reason: _k, pid: _p, pid_start: _s, ...rest } = record;
  const report = facts?.report;
  return {
    fast,
    record: {
      ...rest,
      status: decided.status,
      question: decided.question,
      ...(report?.run === record.runs
        ? accountRun(
            record.usage,
            record.session_usage,
            report,
            record.resume_session !== undefined,
          )
        : {}),
      // A resume continues the conversation once; the next run starts afresh unless resumed again.
      resume_session: undefined,
      ...decided.patch,
      ...(end.kind === 'exited' ? { exit_code: end.exitCode } : {}),
      ...(decided.status === 'queued'
        ? { queued_at: isoUtc(now), continue_prompt: decided.patch?.continue_prompt ?? true }
        : { continue_prompt: undefined }),
      // A completed run owes its closeout (harvest, QA, hand-back) before it is journaled.
      closeout: decided.status === 'completed' ? 'pending' : undefined,
    },
  };
}

function decide(
  ctx: AppContext,
  record: StatusRecord,
  end: RunEnd,
  blockedText: string | undefined,
  dir: string,
  now: Date,
  runtime: RuntimeState,
): Decision {
  const minutes = ctx.config.file.dispatch.timeout_minutes;
  if (record.kill_reason === 'operator')
    return {
      status: nextStatus('running', 'kill'),
      question: 'killed by operator',
      countsAsFailure: false,
    };
  if (record.kill_reason === 'cancel')
    return {
      status: nextStatus('running', 'cancel'),
      question: 'cancelled',
      countsAsFailure: false,
    };
  if (blockedText !== undefined) {
    return {
      status: nextStatus('running', 'block'),
      question: blockedText.slice(0, MAX_QUESTION).trim(),
      countsAsFailure: false,
    };
  }
  if (record.kill_reason === 'timeout') {
    return {
      status: nextStatus('running', 'fail'),
      question: `agent timed out after ${minutes}m`,
      countsAsFailure: true,
    };
  }
  if (end.kind === 'vanished')
    return {
      status: nextStatus('running', 'fail'),
      question: GHOST_QUESTION,
      countsAsFailure: false,
    };
  if (end.kind === 'not-started')
    return {
      status: nextStatus('running', 'fail'),
      question: end.question,
      countsAsFailure: false,
    };
  const pool = poolOf(record.agent);
  if (end.exitCode !== 0 || REFUSES_QUIETLY.has(pool)) {
    const log = logPath(dir, pool);
    const tail = readTail(log, USAGE_TAIL_BYTES);
    const report = readAgentReport(tail, now, Buffer.byteLength(tail) >= USAGE_TAIL_BYTES);
    if (end.exitCode === 0) {
      if (report.refusal === undefined)
        return {
          status: nextStatus('running', 'complete'),
          question: undefined,
          countsAsFailure: false,
        };
      return {
        status: nextStatus('running', 'fail'),
        question: clip(
          `${pool} exited 0 but its permission rules refused an edit (${report.refusal}); allow it in the CLI's config or keep --auto on its command line`,
        ),
        countsAsFailure: true,
      };
    }
    const gone = record.resume_session === undefined ? null : SESSION_GONE.exec(tail);
    if (gone)
      return {
        status: nextStatus('running', 'requeue'),
        question: clip(
          `could not continue the earlier conversation (${gone[0]}); running again afresh with the answer in the prompt`,
        ),
        countsAsFailure: false,
        patch: { continue_prompt: false },
      };
    return failure(ctx, record, end, report, now, runtime);
  }
  return { status: nextStatus('running', 'complete'), question: undefined, countsAsFailure: false };
}
