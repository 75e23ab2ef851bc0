import type { AppContext } from '../context.js';
import { isoUtc } from '../lib/clock.js';
import type { EarlyCommit, OneCallOps, RunEndWrite, StateStore } from '../store/index.js';
import { isTerminal, poolOf, queueEntryOf, workspaceDir } from '../workspace/index.js';
import type { StatusRecord } from '../workspace/index.js';
import { registryRecord } from '../workspace/record-schema.js';
import { writeStatusFiles } from '../workspace/status-file.js';
import { readFleetState } from './fleet-state.js';
import { recordOutcome } from './runtime-state.js';
import { isThisRun, runOutcome, type RunFacts } from './run-outcome.js';
import type { FinishItem } from './run-end.js';

type Ends = EarlyCommit<Map<string, StatusRecord>>;

/**
 * Ends runs on a store that writes them in one server-side call (the fleet's PostgreSQL): the
 * records, settings and back-off are read in one query without locks, the outcomes decided
 * here, and the store replaces each record only if it is still the version decided on. Ends
 * that change the fleet's back-off (a fast failure, a usage limit), and records changed
 * meanwhile (a cancel recorded, a takeover), go to `inTransaction`, which locks what it reads.
 */
export async function endInOneCall(
  ctx: AppContext,
  store: StateStore,
  oneCall: OneCallOps,
  items: readonly FinishItem[],
  facts: ReadonlyMap<string, RunFacts>,
  inTransaction: (items: readonly FinishItem[]) => Promise<Ends>,
): Promise<Ends> {
  const now = ctx.clock.now();
  const state = await readFleetState(
    ctx,
    oneCall,
    items.map((i) => i.name),
  );
  const counting = { now, runtime: state.runtime, policy: state.file.dispatch.failure_backoff };
  const before = JSON.stringify(state.runtime);
  const writes: RunEndWrite[] = [];
  for (const { name, ref, end } of items) {
    const record = state.records.get(name);
    if (!isThisRun(record, ref)) continue;
    const outcome = runOutcome(ctx, name, record, end, facts.get(name), counting);
    recordOutcome(state.runtime, poolOf(record.agent), outcome.fast, now, counting.policy);
    const next = outcome.record;
    writes.push({
      name,
      seen: record.updated_at,
      record: next,
      queue: next.status === 'queued' ? queueEntryOf(next) : undefined,
      terminal: isTerminal(next.status),
    });
  }
  if (JSON.stringify(state.runtime) !== before) return inTransaction(items);
  const { ended, missed } =
    writes.length === 0
      ? { ended: new Map<string, unknown>(), missed: [] }
      : await oneCall.end(ctx.config.nodeId, isoUtc(now), writes);
  const out = new Map<string, StatusRecord>();
  for (const [name, value] of ended) {
    const record = registryRecord(value);
    if (record !== undefined) out.set(name, record);
  }
  await writeStatusFiles(
    [...out].map(([name, record]) => [workspaceDir(ctx.config.workspaceRoot, name), record]),
    { durable: false },
  );
  // Slots were freed (and some work queued again): other nodes look again. Not waited for: the
  // run's end is recorded, and wake-ups sent meanwhile are shared.
  if (out.size > 0 && store.notifyWake)
    void store
      .notifyWake()
      .catch((err: unknown) =>
        ctx.logger.warn({ err: (err as Error).message }, 'fleet wake-up not sent'),
      );
  if (missed.length === 0) return { result: out, durable: Promise.resolve() };
  const again = await inTransaction(items.filter((i) => missed.includes(i.name)));
  for (const [name, record] of again.result) out.set(name, record);
  return { result: out, durable: again.durable };
}
