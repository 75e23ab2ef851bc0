import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { finishRuns, type FinishItem } from '../dispatch/finish.js';
import { readExitRecord, readLaunchRecord } from '../dispatch/launch.js';
import { loadRuntime, mirrorRuntime, saveRuntime } from '../dispatch/runtime-state.js';
import { isoUtc } from '../lib/clock.js';
import { isProcessAlive, processGroupOf, processStartTime } from '../lib/proc.js';
import { terminateGroup } from '../dispatch/reaper.js';
import { fenceViolation } from './fence.js';
import { GROUPS } from '../store/index.js';
import { mtimesInWorker } from '../lib/stat-worker.js';
import {
  carriesMirrorMark,
  discoverWorkspaces,
  fingerprintOf,
  isCurrentMirror,
  isTerminal,
  readStatusFile,
  registryRecord,
  STATUS_FILE,
  statusPath,
  workspaceDir,
  writeStatusFile,
  type StatusRecord,
} from '../workspace/index.js';
import { recoverOrphanBuffers } from './buffers.js';
import { commitWorkspaces, needsCommit } from './commit.js';
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
  /** Completed runs whose closeout (harvest, QA, hand-back) is still owed, for the runner. */
  closeouts: Array<[string, StatusRecord]>;
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

/** Records read or compared between two turns of the event loop. */
const PAGE = 1000;

/** Lets callbacks waiting on the event loop run (the reaping's disk writes). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Question of a registry entry whose workspace directory is gone. */
export const MISSING_QUESTION = 'workspace directory missing';

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
  const root = ctx.config.workspaceRoot;
  // Fleet mode: this node judges only its own records against its processes and disk; another
  // node's work is that node's (or, once its lease expires, a takeover's: src/fleet).
  const fleet = store.engine === 'postgres';
  const mine = (record: StatusRecord | undefined): boolean =>
    !fleet || record?.node === ctx.config.nodeId;
  const phases: Record<string, number> = {};
  let phaseStart = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    phases[name] = Math.round(now - phaseStart);
    phaseStart = now;
  };

  // The mirror of every workspace on disk is stat'ed on a worker thread while this one reads
  // the registry and reaps dead agents; step 4 compares.
  const onDisk = discoverWorkspaces(root);
  const mtimes = mtimesInWorker(
    root,
    onDisk.map((name) => `${name}/${STATUS_FILE}`),
  );
  mtimes.catch(() => undefined); // awaited in step 4
  phase('discover');

  // 1. Runtime back-off: the store, filled in by runtime/dispatch.json, written back to both.
  const runtime = await store.transaction(async (tx) => {
    const state = await loadRuntime(tx, ctx.config.coreRoot);
    await saveRuntime(tx, state);
    return state;
  });
  mirrorRuntime(ctx.config.coreRoot, runtime, store.degraded);
  phase('runtime');

  const records = new Map<string, StatusRecord>();
  const changed = new Map<string, StatusRecord>();
  const missing = new Set<string>();
  /** Newer wins between the registry and status.json (its mtime given when already read). */
  const checkDisk = (name: string, mtimeMs?: number): void => {
    const known = records.get(name);
    // In a fleet the shared registry is the only truth for what is not this node's own.
    if (fleet && !mine(known)) return;
    // A status.json carrying the mirror mark of the registry's version was written by
    // trackWorkspace for exactly that version: no need to read it.
    if (
      known !== undefined &&
      (mtimeMs === undefined
        ? isCurrentMirror(statusPath(join(root, name)), known.updated_at)
        : carriesMirrorMark(mtimeMs, known.updated_at))
    )
      return;
    const read = readStatusFile(join(root, name), ctx.clock.now());
    if (read.kind === 'corrupt') {
      ctx.logger.warn(
        { workspace: name, moved_to: read.movedTo, reason: read.reason },
        'corrupt status.json quarantined',
      );
    }
    if (read.kind === 'ok' && (known === undefined || read.record.updated_at > known.updated_at)) {
      records.set(name, read.record);
      changed.set(name, read.record);
      return;
    }
    // The mirror is missing, unreadable or an older version (a crash between the store's commit
    // and the mirror write): the registry is the truth, so the mirror is written again from it.
    if (known !== undefined) writeStatusFile(join(root, name), known, { durable: false });
  };
  const markMissing = (name: string, record: StatusRecord): void => {
    if (!mine(record)) return;
    if (record.status === 'failed' && record.question === MISSING_QUESTION) return;
    const { pid: _p, pid_start: _s, ...rest } = record;
    const failed: StatusRecord = {
      ...rest,
      status: 'failed',
      question: MISSING_QUESTION,
      updated_at: isoUtc(ctx.clock.now()),
    };
    records.set(name, failed);
    changed.set(name, failed);
    missing.add(name);
  };

  // 2. Running records first, as the `running` group lists them, so that their dead agents are
  // reaped (status, journal, marker: mostly disk waits on the thread pool) while the registry is
  // read and the disk compared below.
  const early = new Set<string>();
  for (const [name] of await store.entries(GROUPS.running)) {
    const record = registryRecord(await store.get(GROUPS.registry, name));
    if (record?.status !== 'running' || !mine(record)) continue;
    records.set(name, record);
    early.add(name);
    if (existsSync(workspaceDir(root, name))) checkDisk(name);
    else markMissing(name, record);
  }
  if (changed.size > 0) await writeMerged(ctx, changed);
  const report: HydrateReport = {
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
  const { finishing } = await reconcileRunning(ctx, records, early, report);
  phase('reconcile');

  // 3. The rest of the registry, page by page so that the reaping keeps going meanwhile.
  for (let after: string | undefined; ;) {
    const page = await store.entries(GROUPS.registry, { after, limit: PAGE });
    for (const [name, value] of page) {
      if (early.has(name)) continue;
      const record = registryRecord(value);
      if (record) records.set(name, record);
      else
        ctx.logger.warn({ workspace: name }, 'invalid registry entry ignored; status.json decides');
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]?.[0];
    await turn();
  }
  phase('registry');

  // 4. The rest of the disk, in slices that let the reaping above make progress.
  changed.clear();
  const stamps = await mtimes;
  for (let i = 0; i < onDisk.length; i++) {
    const name = onDisk[i] as string;
    if (!early.has(name)) checkDisk(name, stamps[i]);
    if (i % PAGE === PAGE - 1) await turn();
  }
  const found = new Set(onDisk);
  for (const [name, record] of records) {
    if (early.has(name) || found.has(name) || existsSync(workspaceDir(root, name))) continue;
    markMissing(name, record);
  }
  phase('disk');
  // Running records the `running` group did not list (only status.json knew of them, it was
  // newer there, or the group was not kept yet): those from disk into the registry first, then
  // all reconciled like the others.
  const late: string[] = [];
  for (const [name, record] of records)
    if (record.status === 'running' && !early.has(name) && mine(record)) late.push(name);
  let finishingLate: Promise<Map<string, StatusRecord>> = Promise.resolve(new Map());
  if (late.length > 0) {
    const fromDisk = new Map<string, StatusRecord>();
    for (const name of late) {
      const record = changed.get(name);
      if (record === undefined) continue;
      fromDisk.set(name, record);
      changed.delete(name);
    }
    if (fromDisk.size > 0) await writeMerged(ctx, fromDisk);
    ({ finishing: finishingLate } = await reconcileRunning(ctx, records, late, report));
  }
  for (const [name, record] of [...(await finishing), ...(await finishingLate)])
    records.set(name, record);
  phase('finish');

  // 5. Write the merged registry and rebuild the derived groups in one transaction.
  await writeMerged(ctx, changed, records);
  report.workspaces = records.size;
  report.missing = [...missing];
  phase('merge');

  // 6. Orphan buffers.
  const orphans = await recoverOrphanBuffers(ctx.config.coreRoot, ctx.clock.now());
  report.orphansDiscarded = orphans.discarded.length;
  report.orphansQuarantined = orphans.quarantined.length;

  // 7. Terminal records without a journal entry: the `uncommitted` group lists them (kept by
  // trackWorkspace and commit in their transactions); when degraded, the commit markers tell.
  const uncommitted = new Map<string, StatusRecord>();
  if (store.degraded) {
    for (const [name, record] of records) {
      if (isTerminal(record.status) && !missing.has(name) && needsCommit(ctx, name, record))
        uncommitted.set(name, record);
    }
  } else {
    for (const [name] of await store.entries(GROUPS.uncommitted)) {
      const record = records.get(name);
      // Another node's journal is that node's to write.
      if (record && !mine(record)) continue;
      if (record && isTerminal(record.status) && !missing.has(name)) uncommitted.set(name, record);
      else await store.delete(GROUPS.uncommitted, name);
    }
  }
  for (const [name, record] of uncommitted) {
    if (record.closeout !== 'pending') continue;
    uncommitted.delete(name);
    report.closeouts.push([name, record]);
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
 * Writes records merged from disk (adopted, newer, or failed because their directory vanished)
 * to the registry, noting terminal ones whose journal lacks this version for the final commit
 * step; with `all`, also rebuilds the derived groups from the complete set, in the same
 * transaction.
 */
async function writeMerged(
  ctx: AppContext,
  changed: ReadonlyMap<string, StatusRecord>,
  all?: Map<string, StatusRecord>,
): Promise<void> {
  const store = await ctx.store();
  await store.transaction(async (tx) => {
    for (const [name, record] of changed) {
      // Fleet mode: a copy from before a takeover never replaces the shared record.
      if (
        store.engine === 'postgres' &&
        fenceViolation(
          registryRecord(await tx.get(GROUPS.registry, name)),
          record,
          ctx.config.nodeId,
        )
      )
        continue;
      await tx.set(GROUPS.registry, name, record);
      if (isTerminal(record.status) && needsCommit(ctx, name, record))
        await tx.set(GROUPS.uncommitted, name, fingerprintOf(record));
    }
    if (all) await rebuildDerivedGroups(ctx, tx, all);
  });
}

/**
 * Reconciles the running records among `names`: a run whose runner died between spawn and recording the pid
 * is adopted from launch.json (never started twice); one claimed but never spawned is queued
 * again; a live agent with the same start time is listed for re-attach; the rest are finished
 * from their exit.json or as ghosts (their remaining process group terminated). Returns the
 * finishing of the dead runs — one transaction and one batched commit for all of them —
 * still under way.
 */
async function reconcileRunning(
  ctx: AppContext,
  records: Map<string, StatusRecord>,
  names: Iterable<string>,
  report: HydrateReport,
): Promise<{ finishing: Promise<Map<string, StatusRecord>> }> {
  const root = ctx.config.workspaceRoot;
  const toFinish: FinishItem[] = [];
  const requeue: string[] = [];
  // A runner killed between spawning an agent and recording its pid: the wrapper's
  // launch.json names the process, so the run is adopted, never started twice.
  const adopted = new Map<string, StatusRecord>();
  const running = [...names].filter((name) => records.get(name)?.status === 'running');
  for (const name of running) {
    const record = records.get(name);
    if (record?.status !== 'running' || record.pid !== undefined) continue;
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
  for (const name of running) {
    const record = records.get(name);
    if (record?.status !== 'running' || record.pid === undefined) continue;
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
      // The agent ended while no runner watched: what is left of its group goes too.
      terminateGhostGroup(ctx, name, record.pid);
    } else {
      terminateGhostGroup(ctx, name, record.pid);
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
  const finishing = finishRuns(ctx, toFinish);
  // Awaited by the caller after the disk scan; marked handled so a failure meanwhile is not
  // reported as an unhandled rejection (the caller's await still throws it).
  finishing.catch(() => undefined);
  return { finishing };
}

/**
 * Terminates what is left of a dead agent's process group, its SIGKILL deadline recorded for
 * the runner to enforce — unless the pid now belongs to another process that leads its own
 * group (a reused pid): that group is someone else's.
 */
function terminateGhostGroup(ctx: AppContext, name: string, pid: number): void {
  if (processGroupOf(pid) === pid) return;
  terminateGroup(pid, {
    coreRoot: ctx.config.coreRoot,
    graceSeconds: ctx.config.file.dispatch.kill_grace_seconds,
    now: ctx.clock.now(),
    workspace: name,
    reason: 'left behind by an agent that ended unwatched',
    logger: ctx.logger,
  });
}
