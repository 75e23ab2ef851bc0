import type { AppContext } from '../context.js';
import { isoUtc } from '../lib/clock.js';
import { isProcessAlive, processGroupOf, processStartTime } from '../lib/proc.js';
import { recordInTx } from '../lifecycle/records.js';
import { trackInTransaction } from '../lifecycle/track.js';
import { GROUPS, isFleet, type StateStore } from '../store/index.js';
import { workspaceDir, type StatusRecord } from '../workspace/index.js';
import { registryRecord } from '../workspace/record-schema.js';
import { finishRuns } from './finish.js';
import type { FinishItem } from './run-end.js';
import { writeMerged, type DiskMerge } from './hydrate-disk.js';
import { readLaunchRecord, runEndFromExit } from './launch.js';
import { terminateGroup } from './reaper.js';

/** A live agent found at start, to be watched by the runner. */
export interface Reattach {
  name: string;
  record: StatusRecord;
}

/** What reconciling the running records found, by outcome. */
export interface RunningTally {
  reattach: Reattach[];
  finished: string[];
  ghosts: string[];
  requeued: string[];
}

/** The finishing of the dead runs, one transaction and one batched commit, still under way. */
export type Finishing = Promise<Map<string, StatusRecord>>;

/**
 * Reads this node's running records, as the `running` group lists them, into `merge` (each
 * checked against its status.json or marked missing) and writes what the disk changed; returns
 * their names. They come first so that their dead agents are reaped (status, journal, marker:
 * mostly disk waits on the thread pool) while the rest of the registry is read and compared.
 */
export async function readRunningGroup(
  ctx: AppContext,
  store: StateStore,
  merge: DiskMerge,
): Promise<Set<string>> {
  const early = new Set<string>();
  const rows: Array<[string, StatusRecord]> = [];
  for (const [name] of await store.entries(GROUPS.running)) {
    const record = registryRecord(await store.get(GROUPS.registry, name));
    if (record?.status === 'running') rows.push([name, record]);
  }
  const adopted = isFleet(store) ? await adoptUnowned(ctx, rows) : new Map<string, StatusRecord>();
  for (const [name, read] of rows) {
    const record = adopted.get(name) ?? read;
    if (!merge.mine(record)) continue;
    merge.records.set(name, record);
    early.add(name);
    merge.checkOrMarkMissing(name, record);
  }
  if (merge.changed.size > 0) await writeMerged(ctx, merge.changed);
  return early;
}

/**
 * Makes this node the owner of each running record that has none (written before fleets, or
 * imported by hand) and whose current run this node launched: its `.meta/launch.json` on this
 * node's disk names the record's run (and pid, once recorded). Only the node whose wrapper
 * started that run has that file, and the adoption is one transaction that finds `node` still
 * unset, so two nodes never both judge the record and none of them starts it a second time.
 * Adopting raises the epoch like a takeover. Returns the adopted records by name.
 */
async function adoptUnowned(
  ctx: AppContext,
  rows: ReadonlyArray<readonly [string, StatusRecord]>,
): Promise<Map<string, StatusRecord>> {
  const self = ctx.config.nodeId;
  const candidates = rows.filter(
    ([name, record]) => record.node === undefined && launchedHere(ctx, name, record),
  );
  const adopted = new Map<string, StatusRecord>();
  if (candidates.length === 0) return adopted;
  await trackInTransaction(ctx, async (track, tx) => {
    for (const [name] of candidates) {
      const current = await recordInTx(tx, name);
      if (current?.status !== 'running' || current.node !== undefined) continue;
      if (!launchedHere(ctx, name, current)) continue;
      const next = await track(name, { ...current, node: self, epoch: (current.epoch ?? 0) + 1 });
      if (next) adopted.set(name, next);
    }
  });
  if (adopted.size > 0)
    ctx.logger.warn(
      { workspaces: [...adopted.keys()] },
      'adopted running records that named no node: their runs were launched on this node',
    );
  return adopted;
}

/** True when this node's disk holds the launch record of `record`'s current run. */
function launchedHere(ctx: AppContext, name: string, record: StatusRecord): boolean {
  const launch = readLaunchRecord(workspaceDir(ctx.config.workspaceRoot, name));
  if (launch === undefined) return false;
  return record.pid === undefined
    ? launch.run === record.runs + 1
    : launch.run === record.runs && launch.pid === record.pid;
}

/**
 * Reconciles the running records that only the disk compare found (only status.json knew of
 * them, it was newer there, or the `running` group was not kept yet): those from disk go into
 * the registry first, then all are reconciled like the others.
 */
export async function reconcileLate(
  ctx: AppContext,
  merge: DiskMerge,
  early: ReadonlySet<string>,
  tally: RunningTally,
): Promise<{ finishing: Finishing }> {
  const late: string[] = [];
  for (const [name, record] of merge.records)
    if (record.status === 'running' && !early.has(name) && merge.mine(record)) late.push(name);
  if (late.length === 0) return { finishing: Promise.resolve(new Map()) };
  const fromDisk = new Map<string, StatusRecord>();
  for (const name of late) {
    const record = merge.changed.get(name);
    if (record === undefined) continue;
    fromDisk.set(name, record);
    merge.changed.delete(name);
  }
  if (fromDisk.size > 0) await writeMerged(ctx, fromDisk);
  return reconcileRunning(ctx, merge.records, late, tally);
}

/**
 * Reconciles the running records among `names`: a run whose runner died between spawn and
 * recording the pid is adopted from launch.json (never started twice); one claimed but never
 * spawned is queued again; a live agent with the same start time is listed for re-attach; the
 * rest are finished from their exit.json or as ghosts (their remaining process group
 * terminated). Returns the finishing of the dead runs, still under way.
 */
export async function reconcileRunning(
  ctx: AppContext,
  records: Map<string, StatusRecord>,
  names: Iterable<string>,
  tally: RunningTally,
): Promise<{ finishing: Finishing }> {
  const running = [...names].filter((name) => records.get(name)?.status === 'running');
  const requeue = await adoptLaunched(ctx, records, running);
  const toFinish = endDeadRuns(ctx, records, running, tally);
  await requeueUnspawned(ctx, records, requeue);
  tally.requeued.push(...requeue);
  const finishing = finishRuns(ctx, toFinish);
  // Awaited by the caller after the disk scan; marked handled so a failure meanwhile is not
  // reported as an unhandled rejection (the caller's await still throws it).
  finishing.catch(() => undefined);
  return { finishing };
}

/**
 * A runner killed between spawning an agent and recording its pid: the wrapper's launch.json
 * names the process, so the run is adopted, never started twice. Returns the runs claimed but
 * never spawned (no launch.json of this run), which are to be queued again.
 */
async function adoptLaunched(
  ctx: AppContext,
  records: Map<string, StatusRecord>,
  running: readonly string[],
): Promise<string[]> {
  const requeue: string[] = [];
  const adopted = new Map<string, StatusRecord>();
  for (const name of running) {
    const record = records.get(name);
    if (record?.status !== 'running' || record.pid !== undefined) continue;
    const launch = readLaunchRecord(workspaceDir(ctx.config.workspaceRoot, name));
    if (launch === undefined || launch.run !== record.runs + 1) {
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
  return requeue;
}

/**
 * Lists the live agents for re-attach and returns the dead runs to finish: from their exit.json
 * when it is this run's, else as ghosts. What is left of a dead agent's group is terminated.
 */
function endDeadRuns(
  ctx: AppContext,
  records: ReadonlyMap<string, StatusRecord>,
  running: readonly string[],
  tally: RunningTally,
): FinishItem[] {
  const toFinish: FinishItem[] = [];
  for (const name of running) {
    const record = records.get(name);
    if (record?.status !== 'running' || record.pid === undefined) continue;
    if (isProcessAlive(record.pid, record.pid_start)) {
      tally.reattach.push({ name, record });
      continue;
    }
    const ref = { runs: record.runs, pid: record.pid };
    const end = runEndFromExit(workspaceDir(ctx.config.workspaceRoot, name), record.runs);
    toFinish.push({ name, ref, end });
    // The agent ended while no runner watched (or is a ghost): what is left of its group goes too.
    terminateGhostGroup(ctx, name, record.pid);
    (end.kind === 'exited' ? tally.finished : tally.ghosts).push(name);
  }
  return toFinish;
}

/** Queues again the runs claimed but never spawned (the runner died while preparing). */
async function requeueUnspawned(
  ctx: AppContext,
  records: Map<string, StatusRecord>,
  requeue: readonly string[],
): Promise<void> {
  if (requeue.length === 0) return;
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
