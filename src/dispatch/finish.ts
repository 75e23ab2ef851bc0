import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { commitWorkspaces } from '../lifecycle/commit.js';
import { recordInTx, trackCommitted, type Track } from '../lifecycle/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { readTail, readTextIfExists } from '../lib/fs.js';
import type { EarlyCommit, StoreOps } from '../store/index.js';
import { isTerminal, poolOf, workspaceDir, type StatusRecord } from '../workspace/index.js';
import { effectiveFile } from '../fleet/settings.js';
import { logPath } from './launch.js';
import {
  loadRuntime,
  mirrorRuntime,
  recordOutcome,
  saveRuntime,
  type RuntimeState,
} from './runtime-state.js';
import { readAgentReport } from './agent-output.js';
import { accountRun, readRunReport } from './agent-usage.js';
import {
  clip,
  failure,
  MAX_QUESTION,
  REFUSES_QUIETLY,
  SESSION_GONE,
  type Decision,
} from './failure.js';
import type { FinishItem, RunEnd, RunRef } from './run-end.js';

export { MAX_QUESTION } from './failure.js';

/** How much of an agent's log is read for its own error output and usage-limit messages. */
const USAGE_TAIL_BYTES = 64 * 1024;
/** The ghost question (docs/ARCHITECTURE.md). */
export const GHOST_QUESTION = 'agent process died while the dispatcher was down';

/**
 * Ends a run: picks the final status by precedence (repo/BLOCKED.md → blocked; killed, timed
 * out, vanished or non-zero → failed, except a usage limit → queued again with back-off;
 * otherwise completed), applies fast-failure back-off, clears the pid (runs kept), and commits
 * the journal for terminal statuses. Returns the new record, or undefined when the record was no
 * longer this run's (someone else finished it).
 */
export async function finishRun(
  ctx: AppContext,
  name: string,
  ref: RunRef,
  end: RunEnd,
): Promise<StatusRecord | undefined> {
  return (await finishRuns(ctx, [{ name, ref, end }])).get(name);
}

/**
 * {@link finishRun} for many runs at once (hydrate reaps hundreds of ghosts): one store
 * transaction for all status changes and back-off, then one batched commit.
 */
export async function finishRuns(
  ctx: AppContext,
  items: readonly FinishItem[],
): Promise<Map<string, StatusRecord>> {
  const { result: finished, durable } = await endRuns(ctx, items);
  await durable;
  await journalEnds(ctx, finished);
  return finished;
}

/**
 * The first half of {@link finishRuns}: the status changes and back-off, in one store
 * transaction. Once it resolves the runs' slots are free (under group commit at COMMIT); their
 * terminal records are in the `uncommitted` group, so the journal commit ({@link journalEnds})
 * is never lost, even if the process dies before it. That commit waits for `durable`: a journal
 * line must never outlive, in a power cut, the status it records.
 */
export async function endRuns(
  ctx: AppContext,
  items: readonly FinishItem[],
): Promise<EarlyCommit<Map<string, StatusRecord>>> {
  // Hydrate reconciles before it knows whether any run ended: no transaction for none.
  if (items.length === 0) return { result: new Map(), durable: Promise.resolve() };
  const now = ctx.clock.now();
  const store = await ctx.store();
  const blocked = new Map(
    items.map((i) => [
      i.name,
      readTextIfExists(join(workspaceDir(ctx.config.workspaceRoot, i.name), 'repo', 'BLOCKED.md')),
    ]),
  );
  // The CLIs' usage and conversation ids, read (like BLOCKED.md) before the transaction.
  const reports = new Map(
    items.map((i) => [i.name, readRunReport(workspaceDir(ctx.config.workspaceRoot, i.name))]),
  );
  let runtime: RuntimeState | undefined;
  const end = async (track: Track, tx: StoreOps): Promise<Map<string, StatusRecord>> => {
    const out = new Map<string, StatusRecord>();
    // The fleet's settings row is locked before the runtime rows, in the order claims take them.
    const policy = (await effectiveFile(ctx, store, tx)).dispatch.failure_backoff;
    runtime = await loadRuntime(tx, ctx.config.coreRoot);
    const before = JSON.stringify(runtime);
    for (const { name, ref, end } of items) {
      const record = await recordInTx(tx, name);
      if (record?.status !== 'running' || record.runs !== ref.runs || record.pid !== ref.pid)
        continue;
      const dir = workspaceDir(ctx.config.workspaceRoot, name);
      const decided = decide(ctx, record, end, blocked.get(name), dir, now, runtime);
      const startedMs = record.started_at ? Date.parse(record.started_at) : now.getTime();
      const endedMs = end.kind === 'exited' ? end.endedAt.getTime() : now.getTime();
      const fast =
        decided.status === 'failed' &&
        decided.countsAsFailure &&
        endedMs - startedMs < policy.within_seconds * 1000;
      recordOutcome(runtime, poolOf(record.agent), fast, now, policy);
      const { kill_reason: _k, pid: _p, pid_start: _s, ...rest } = record;
      const report = reports.get(name);
      const next = await track(name, {
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
      });
      if (next) out.set(name, next);
    }
    // Most runs leave back-off untouched: then neither the store nor dispatch.json is rewritten.
    if (JSON.stringify(runtime) === before) runtime = undefined;
    else await saveRuntime(tx, runtime);
    return out;
  };
  return trackCommitted(ctx, end, () => {
    if (runtime) mirrorRuntime(store, ctx.config.coreRoot, runtime);
  });
}

/**
 * The second half of {@link finishRuns}: commits the journal of the runs {@link endRuns} left
 * terminal, then announces every ended run (`finished`) — except completed runs whose closeout
 * is pending: the runner closes them out first.
 */
export async function journalEnds(
  ctx: AppContext,
  finished: ReadonlyMap<string, StatusRecord>,
): Promise<void> {
  // A run whose closeout is still owed is journaled and announced once it is closed out.
  const ended = [...finished].filter(([, r]) => r.closeout !== 'pending');
  const terminal = new Map(ended.filter(([, r]) => isTerminal(r.status)));
  if (terminal.size > 0) await commitWorkspaces(ctx, terminal);
  for (const [name, record] of ended) ctx.events.emit('finished', name, record);
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
