import type { AppContext } from '../context.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { poolOf, type StatusRecord } from '../workspace/index.js';
import { hintFor, type AgentReport } from './agent-output.js';
import type { RunEnd } from './run-end.js';
import type { RuntimeState } from './runtime-state.js';

/** Longest question taken from BLOCKED.md (and longest question a finish writes). */
export const MAX_QUESTION = 2000;

/** How a run's finish decided: the status, the question, and what else it sets on the record. */
export interface Decision {
  status: StatusRecord['status'];
  question: string | undefined;
  /** False for operator actions and deaths that are not the agent's fault. */
  countsAsFailure: boolean;
  /** Record fields the decision sets besides status and question. */
  patch?: Partial<StatusRecord>;
}

/** What claude and codex say when the conversation a resume names is not there (another HOME, pruned). */
export const SESSION_GONE =
  /No conversation found with session ID: [\w-]+|no rollout found for thread id [\w-]+/;

/** CLIs that exit 0 although their permission rules refused an edit: their output is read on success too. */
export const REFUSES_QUIETLY: ReadonlySet<string> = new Set(['opencode']);

/** A failed exit: a usage limit requeues (up to `dispatch.max_requeues`), anything else fails with the CLI's own cause. */
export function failure(
  ctx: AppContext,
  record: StatusRecord,
  end: Extract<RunEnd, { kind: 'exited' }>,
  report: AgentReport,
  now: Date,
  runtime: RuntimeState,
): Decision {
  const pool = poolOf(record.agent);
  const how = end.signal ? `was killed by ${end.signal}` : `exited with code ${end.exitCode}`;
  // A signal's death says it all (the shell's "Terminated" adds nothing).
  const cause = end.signal ? undefined : report.errors.at(-1);
  const limit = report.limit;
  if (limit !== undefined) {
    const what = limit.kind === 'rate' ? 'rate limit' : 'usage limit';
    const requeues = record.usage_requeues ?? 0;
    if (requeues >= ctx.config.file.dispatch.max_requeues)
      return {
        status: nextStatus('running', 'fail'),
        question: clip(
          `${pool} hit its ${what} again after ${requeues} requeues (dispatch.max_requeues); giving up: ${cause ?? what}`,
        ),
        countsAsFailure: false,
      };
    const current = runtime.backoff[pool];
    if (current === undefined || Date.parse(current) < limit.resetAt.getTime()) {
      runtime.backoff[pool] = isoUtc(limit.resetAt);
      runtime.backoff_reason[pool] = `${what}${cause ? `: ${cause.slice(0, 200)}` : ''}`;
    }
    return {
      status: nextStatus('running', 'requeue'),
      question: clip(
        `${what} reached; retrying after ${isoUtc(limit.resetAt)}${limit.stated ? '' : ' (no reset time given)'}${cause ? `: ${cause}` : ''}`,
      ),
      countsAsFailure: false,
      patch: { usage_requeues: requeues + 1 },
    };
  }
  const hint = cause === undefined ? undefined : hintFor(pool, report.errors.join('\n'));
  return {
    status: nextStatus('running', 'fail'),
    question: clip(`agent ${how}${cause ? `: ${cause}` : ''}${hint ? ` — hint: ${hint}` : ''}`),
    countsAsFailure: true,
  };
}

/** Cuts a question to {@link MAX_QUESTION} characters. */
export function clip(question: string): string {
  return question.length > MAX_QUESTION ? `${question.slice(0, MAX_QUESTION - 1)}…` : question;
}
