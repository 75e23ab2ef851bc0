import type { AppContext } from '../context.js';
import { commitWorkspaces } from '../lifecycle/commit.js';
import { recordInTx, trackCommitted, type Track } from '../lifecycle/index.js';
import type { EarlyCommit, StateStore, StoreOps } from '../store/index.js';
import { isTerminal, poolOf, type StatusRecord } from '../workspace/index.js';
import { effectiveFile } from '../fleet/settings.js';
import { endInOneCall } from './end-one-call.js';
import {
  loadRuntime,
  runtimeFileRoot,
  mirrorRuntime,
  recordOutcome,
  saveRuntime,
  type RuntimeState,
} from './runtime-state.js';
import { isThisRun, readRunFacts, runOutcome, type RunFacts } from './run-outcome.js';
import type { FinishItem, RunEnd, RunRef } from './run-end.js';

export { MAX_QUESTION } from './failure.js';
export { GHOST_QUESTION } from './run-outcome.js';

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
  const store = await ctx.store();
  // What the runs left in their workspaces, read before the store is.
  const facts = readRunFacts(ctx, items);
  if (store.oneCall === undefined) return endInTransaction(ctx, store, items, facts);
  return endInOneCall(ctx, store, store.oneCall, items, facts, (rest) =>
    endInTransaction(ctx, store, rest, facts),
  );
}

/** {@link endRuns} as one store transaction, the runtime rows locked. */
async function endInTransaction(
  ctx: AppContext,
  store: StateStore,
  items: readonly FinishItem[],
  facts: ReadonlyMap<string, RunFacts>,
): Promise<EarlyCommit<Map<string, StatusRecord>>> {
  const now = ctx.clock.now();
  let runtime: RuntimeState | undefined;
  const end = async (track: Track, tx: StoreOps): Promise<Map<string, StatusRecord>> => {
    const out = new Map<string, StatusRecord>();
    const policy = (await effectiveFile(ctx, store, tx)).dispatch.failure_backoff;
    runtime = await loadRuntime(tx, runtimeFileRoot(ctx, store));
    const before = JSON.stringify(runtime);
    for (const { name, ref, end } of items) {
      const record = await recordInTx(tx, name);
      if (!isThisRun(record, ref)) continue;
      const counting = { now, runtime, policy };
      const outcome = runOutcome(ctx, name, record, end, facts.get(name), counting);
      recordOutcome(runtime, poolOf(record.agent), outcome.fast, now, policy);
      const next = await track(name, outcome.record);
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
