import type { AppContext } from '../context.js';
import { recoverOrphanBuffers } from '../lifecycle/buffers.js';
import { commitWorkspaces } from '../lifecycle/commit.js';
import { GROUPS, type StateStore, isFleet } from '../store/index.js';
import { isTerminal, type StatusRecord } from '../workspace/index.js';
import {
  compareDisk,
  DiskMerge,
  readRegistryPages,
  scanDisk,
  writeMerged,
} from './hydrate-disk.js';
import {
  readRunningGroup,
  reconcileLate,
  reconcileRunning,
  type RunningTally,
} from './hydrate-running.js';
import { loadRuntime, mirrorRuntime, runtimeFileRoot, saveRuntime } from './runtime-state.js';

export { MISSING_QUESTION } from './hydrate-disk.js';
export type { Reattach } from './hydrate-running.js';

/** What a hydrate found and did. */
export interface HydrateReport extends RunningTally {
  workspaces: number;
  /** Completed runs whose closeout (harvest, QA, hand-back) is still owed, for the runner. */
  closeouts: Array<[string, StatusRecord]>;
  missing: string[];
  committed: string[];
  orphansDiscarded: number;
  orphansQuarantined: number;
  /** Milliseconds spent in each step, for the log and for tuning. */
  phases_ms: Record<string, number>;
}

/**
 * Restores a consistent state at runner start (docs/ARCHITECTURE.md), in order: runtime back-off; the
 * registry from the store, then from status.json files (newer `updated_at` wins; disk-only
 * workspaces are adopted; entries whose directory vanished become failed and are kept); the
 * queue and concurrency groups rebuilt; every running record reconciled (alive with the same
 * start time → re-attach; exited with exit.json → finished with its code; otherwise a ghost →
 * failed, its remaining process group terminated; never spawned → queued again); orphan
 * buffers discarded; terminal records without a journal entry committed.
 */
export async function hydrate(ctx: AppContext): Promise<HydrateReport> {
  const store = await ctx.store();
  // Fleet mode: this node judges only its own records against its processes and disk.
  const merge = new DiskMerge(ctx, isFleet(store));
  const { phases, phase } = phaseTimer();
  const scan = scanDisk(ctx.config.workspaceRoot);
  phase('discover');
  await restoreRuntime(ctx, store);
  phase('runtime');
  const early = await readRunningGroup(ctx, store, merge);
  const report = emptyReport(phases);
  const { finishing } = await reconcileRunning(ctx, merge.records, early, report);
  phase('reconcile');
  await readRegistryPages(ctx, store, merge, early);
  phase('registry');
  await compareDisk(ctx, merge, scan, early);
  phase('disk');
  const late = await reconcileLate(ctx, merge, early, report);
  for (const [name, record] of [...(await finishing), ...(await late.finishing)])
    merge.records.set(name, record);
  phase('finish');
  // The merged registry and the derived groups rebuilt from it, in one transaction.
  await writeMerged(ctx, merge.changed, merge.records);
  report.workspaces = merge.records.size;
  report.missing = [...merge.missing];
  phase('merge');
  await discardOrphanBuffers(ctx, report);
  await commitUncommitted(ctx, store, merge, report);
  phase('commit');
  ctx.logger.info(
    {
      workspaces: report.workspaces,
      reattached: report.reattach.length,
      ghosts: report.ghosts.length,
      finished: report.finished.length,
      phases_ms: phases,
    },
    'hydrated',
  );
  return report;
}

/** Times the steps one after another: each `phase(name)` records the time since the last. */
function phaseTimer(): { phases: Record<string, number>; phase: (name: string) => void } {
  const phases: Record<string, number> = {};
  let phaseStart = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    phases[name] = Math.round(now - phaseStart);
    phaseStart = now;
  };
  return { phases, phase };
}

function emptyReport(phases: Record<string, number>): HydrateReport {
  return {
    workspaces: 0,
    reattach: [],
    closeouts: [],
    finished: [],
    ghosts: [],
    requeued: [],
    missing: [],
    committed: [],
    orphansDiscarded: 0,
    orphansQuarantined: 0,
    phases_ms: phases,
  };
}

/** Runtime back-off: the store, filled in by runtime/dispatch.json, written back to both. */
async function restoreRuntime(ctx: AppContext, store: StateStore): Promise<void> {
  const runtime = await store.transaction(async (tx) => {
    const state = await loadRuntime(tx, runtimeFileRoot(ctx, store));
    await saveRuntime(tx, state);
    return state;
  });
  mirrorRuntime(store, ctx.config.coreRoot, runtime);
}

async function discardOrphanBuffers(ctx: AppContext, report: HydrateReport): Promise<void> {
  const orphans = await recoverOrphanBuffers(ctx.config.coreRoot, ctx.clock.now());
  report.orphansDiscarded = orphans.discarded.length;
  report.orphansQuarantined = orphans.quarantined.length;
}

/**
 * Commits the terminal records without a journal entry: the `uncommitted` group lists them (kept
 * by trackWorkspace and commit in their transactions; the file engine derives it from the commit
 * markers).
 * Those whose closeout is still pending go to the runner instead, which commits after it.
 */
async function commitUncommitted(
  ctx: AppContext,
  store: StateStore,
  merge: DiskMerge,
  report: HydrateReport,
): Promise<void> {
  const { records, missing } = merge;
  const uncommitted = new Map<string, StatusRecord>();
  for (const [name] of await store.entries(GROUPS.uncommitted)) {
    const record = records.get(name);
    // Another node's journal is that node's to write.
    if (record && !merge.mine(record)) continue;
    if (record && isTerminal(record.status) && !missing.has(name)) uncommitted.set(name, record);
    else await store.delete(GROUPS.uncommitted, name);
  }
  for (const [name, record] of uncommitted) {
    if (record.closeout !== 'pending') continue;
    uncommitted.delete(name);
    report.closeouts.push([name, record]);
  }
  if (uncommitted.size > 0) await commitWorkspaces(ctx, uncommitted);
  report.committed.push(...uncommitted.keys());
}
