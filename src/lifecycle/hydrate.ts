import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { finishRuns, type FinishItem } from '../dispatch/finish.js';
import { readExitRecord, readLaunchRecord } from '../dispatch/launch.js';
import { loadRuntime, mirrorRuntime, saveRuntime } from '../dispatch/runtime-state.js';
import { isoUtc } from '../lib/clock.js';
import {
  groupAlive,
  isProcessAlive,
  processGroupOf,
  processStartTime,
  signalGroup,
} from '../lib/proc.js';
import { GROUPS } from '../store/index.js';
import {
  discoverWorkspaces,
  fingerprintOf,
  isCurrentMirror,
  isTerminal,
  readStatusFile,
  workspaceDir,
  type StatusRecord,
} from '../workspace/index.js';
import { recoverOrphanBuffers } from './buffers.js';
import { commitWorkspaces, needsCommit } from './commit.js';
import { registryRecord } from './records.js';
import { rebuildDerivedGroups, trackInTransaction } from './track.js';

/** A live agent found at start, to be watched by the runner. */
export interface Reattach {
  name: string;
  record: StatusRecord;
}

/** What a hydrate found and did. */
export interface HydrateReport {
  workspaces: number;
  reattach: Reattach[];
  finished: string[];
  ghosts: string[];
  requeued: string[];
  missing: string[];
  committed: string[];
  orphansDiscarded: number;
  orphansQuarantined: number;
  /** Milliseconds spent in each step, for the log and for tuning. */
  phases_ms: Record<string, number>;
}

/** Question of a registry entry whose workspace directory is gone. */
export const MISSING_QUESTION = 'workspace directory missing';

/**
 * Restores a consistent state at runner start (DESIGN §7), in order: runtime back-off; the
 * registry from the store, then from status.json files (newer `updated_at` wins; disk-only
 * workspaces are adopted; entries whose directory vanished become failed and are kept); the
 * queue and concurrency groups rebuilt; every running record reconciled (alive with the same
 * start time → re-attach; exited with exit.json → finished with its code; otherwise a ghost →
 * failed, its remaining process group terminated; never spawned → queued again); orphan
 * buffers discarded; terminal records without a journal entry committed.
 */
export async function hydrate(ctx: AppContext): Promise<HydrateReport> {
  const store = await ctx.store();
  const root = ctx.config.workspaceRoot;
  const phases: Record<string, number> = {};
  let phaseStart = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    phases[name] = Math.round(now - phaseStart);
    phaseStart = now;
  };

  // 1. Runtime back-off: the store, filled in by runtime/dispatch.json, written back to both.
  const runtime = await store.transaction(async (tx) => {
    const state = await loadRuntime(tx, ctx.config.coreRoot);
    await saveRuntime(tx, state);
    return state;
  });
  mirrorRuntime(ctx.config.coreRoot, runtime, store.degraded);

  // 2. Registry: store first, then disk.
  const records = new Map<string, StatusRecord>();
  for (const [name, value] of await store.entries(GROUPS.registry)) {
    const record = registryRecord(value);
    if (record) records.set(name, record);
    else
      ctx.logger.warn({ workspace: name }, 'invalid registry entry ignored; status.json decides');
  }
  phase('registry');
  const changed = new Map<string, StatusRecord>();
  const onDisk = new Set<string>();
  for (const name of discoverWorkspaces(root)) {
    onDisk.add(name);
    // Discovered names are plain directory names under the root; they are validated when
    // adopted (trackWorkspace), not for this cheap look.
    const known = records.get(name);
    // A status.json carrying the mirror mark of the registry's version was written by
    // trackWorkspace for exactly that version: no need to read it.
    if (known !== undefined && isCurrentMirror(join(root, name, 'status.json'), known.updated_at))
      continue;
    const read = readStatusFile(join(root, name), ctx.clock.now());
    if (read.kind === 'corrupt') {
      ctx.logger.warn(
        { workspace: name, moved_to: read.movedTo, reason: read.reason },
        'corrupt status.json quarantined',
      );
    }
    if (read.kind !== 'ok') continue;
    if (known === undefined || read.record.updated_at > known.updated_at) {
      records.set(name, read.record);
      changed.set(name, read.record);
    }
  }
  phase('disk');
  const missing: string[] = [];
  const missingSet = new Set<string>();
  for (const [name, record] of records) {
    if (onDisk.has(name) || existsSync(workspaceDir(root, name))) continue;
    if (record.status === 'failed' && record.question === MISSING_QUESTION) continue;
    const { pid: _p, pid_start: _s, ...rest } = record;
    const failed: StatusRecord = {
      ...rest,
      status: 'failed',
      question: MISSING_QUESTION,
      updated_at: isoUtc(ctx.clock.now()),
    };
    records.set(name, failed);
    changed.set(name, failed);
    missing.push(name);
    missingSet.add(name);
  }

  // 3. Write the merged registry and rebuild the derived groups in one transaction.
  await store.transaction(async (tx) => {
    for (const [name, record] of changed) {
      await tx.set(GROUPS.registry, name, record);
      // Written outside trackWorkspace (adopted, or newer on disk): note it for step 6 if its
      // journal lacks this version.
      if (isTerminal(record.status) && needsCommit(ctx, name, record))
        await tx.set(GROUPS.uncommitted, name, fingerprintOf(record));
    }
    await rebuildDerivedGroups(ctx, tx, records);
  });

  phase('merge');

  // 4. Reconcile running records.
  const report: HydrateReport = {
    workspaces: records.size,
    reattach: [],
    finished: [],
    ghosts: [],
    requeued: [],
    missing,
    committed: [],
    orphansDiscarded: 0,
    orphansQuarantined: 0,
    phases_ms: phases,
  };
  const toFinish: FinishItem[] = [];
  const requeue: string[] = [];
  // A runner killed between spawning an agent and recording its pid: the wrapper's
  // launch.json names the process, so the run is adopted, never started twice.
  const adopted = new Map<string, StatusRecord>();
  for (const [name, record] of records) {
    if (record.status !== 'running' || record.pid !== undefined) continue;
    const launch = readLaunchRecord(workspaceDir(root, name));
    if (launch === undefined || launch.run !== record.runs + 1) {
      // Claimed but never spawned (the runner died while preparing): nothing ran, queue it again.
      requeue.push(name);
      continue;
    }
    adopted.set(name, {
      ...record,
      pid: launch.pid,
      pid_start: processStartTime(launch.pid) ?? 'exited',
      runs: launch.run,
      started_at: launch.started_at,
    });
  }
  if (adopted.size > 0) {
    await trackInTransaction(ctx, async (track) => {
      for (const [name, record] of adopted) {
        const next = await track(name, record);
        if (next) records.set(name, next);
      }
    });
  }
  for (const [name, record] of records) {
    if (record.status !== 'running' || record.pid === undefined) continue;
    if (isProcessAlive(record.pid, record.pid_start)) {
      report.reattach.push({ name, record });
      continue;
    }
    const exit = readExitRecord(workspaceDir(root, name));
    const ref = { runs: record.runs, pid: record.pid };
    if (exit && (exit.run === undefined || exit.run === record.runs)) {
      const end = {
        kind: 'exited',
        exitCode: exit.exit_code,
        signal: exit.signal,
        endedAt: new Date(exit.ended_at),
      } as const;
      toFinish.push({ name, ref, end });
      report.finished.push(name);
    } else {
      terminateGhostGroup(record.pid);
      toFinish.push({ name, ref, end: { kind: 'vanished' } });
      report.ghosts.push(name);
    }
  }
  if (requeue.length > 0) {
    await trackInTransaction(ctx, async (track) => {
      for (const name of requeue) {
        const record = records.get(name);
        if (!record) continue;
        const queued = await track(name, {
          ...record,
          status: 'queued',
          queued_at: record.queued_at ?? isoUtc(ctx.clock.now()),
        });
        if (queued) records.set(name, queued);
      }
    });
    report.requeued.push(...requeue);
  }
  phase('reconcile');
  // One transaction and one batched commit for every dead run (hundreds after a crash).
  for (const [name, record] of await finishRuns(ctx, toFinish)) records.set(name, record);
  phase('finish');

  // 5. Orphan buffers.
  const orphans = await recoverOrphanBuffers(ctx.config.coreRoot, ctx.clock.now());
  report.orphansDiscarded = orphans.discarded.length;
  report.orphansQuarantined = orphans.quarantined.length;

  // 6. Terminal records without a journal entry: the `uncommitted` group lists them (kept by
  // trackWorkspace and commit in their transactions); when degraded, the commit markers tell.
  const uncommitted = new Map<string, StatusRecord>();
  if (store.degraded) {
    for (const [name, record] of records) {
      if (isTerminal(record.status) && !missingSet.has(name) && needsCommit(ctx, name, record))
        uncommitted.set(name, record);
    }
  } else {
    for (const [name] of await store.entries(GROUPS.uncommitted)) {
      const record = records.get(name);
      if (record && isTerminal(record.status) && !missingSet.has(name))
        uncommitted.set(name, record);
      else await store.delete(GROUPS.uncommitted, name);
    }
  }
  if (uncommitted.size > 0) await commitWorkspaces(ctx, uncommitted);
  report.committed.push(...uncommitted.keys());
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

/**
 * Terminates what is left of a dead agent's process group — unless the pid now belongs to
 * another process that leads its own group (a reused pid): that group is someone else's.
 */
function terminateGhostGroup(pid: number): void {
  if (processGroupOf(pid) === pid) return;
  if (groupAlive(pid)) signalGroup(pid, 'SIGTERM');
}
