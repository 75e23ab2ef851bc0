import { existsSync } from 'node:fs';
import type { AppContext } from '../context.js';
import { finishRun } from '../dispatch/finish.js';
import { readExitRecord } from '../dispatch/launch.js';
import { loadRuntime, mirrorRuntime, saveRuntime } from '../dispatch/runtime-state.js';
import { isoUtc } from '../lib/clock.js';
import { groupAlive, isProcessAlive, processGroupOf, signalGroup } from '../lib/proc.js';
import { GROUPS } from '../store/index.js';
import {
  discoverWorkspaces,
  fingerprintOf,
  isCurrentMirror,
  isTerminal,
  readStatusFile,
  statusPath,
  statusRecordSchema,
  workspaceDir,
  type StatusRecord,
} from '../workspace/index.js';
import { recoverOrphanBuffers } from './buffers.js';
import { commitWorkspace, needsCommit } from './commit.js';
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

  // 1. Runtime back-off: the store, filled in by runtime/dispatch.json, written back to both.
  const runtime = await store.transaction(async (tx) => {
    const state = await loadRuntime(tx, ctx.config.coreRoot);
    await saveRuntime(tx, state);
    return state;
  });
  mirrorRuntime(ctx.config.coreRoot, runtime, store.degraded);

  // 2. Registry: store first, then disk. A status.json whose mtime equals the registry's
  // updated_at is the mirror trackWorkspace wrote: no need to read it again.
  const records = new Map<string, StatusRecord>();
  for (const [name, value] of await store.entries(GROUPS.registry)) {
    const parsed = statusRecordSchema.safeParse(value);
    if (parsed.success) records.set(name, parsed.data);
  }
  const changed = new Map<string, StatusRecord>();
  const onDisk = new Set<string>();
  for (const name of discoverWorkspaces(root)) {
    onDisk.add(name);
    const dir = workspaceDir(root, name);
    const known = records.get(name);
    if (known !== undefined && isCurrentMirror(statusPath(dir), known.updated_at)) continue;
    const read = readStatusFile(dir, ctx.clock.now());
    if (read.kind === 'corrupt')
      ctx.logger.warn(
        { workspace: name, moved_to: read.movedTo, reason: read.reason },
        'corrupt status.json quarantined',
      );
    if (read.kind !== 'ok') continue;
    if (known === undefined || read.record.updated_at > known.updated_at) {
      records.set(name, read.record);
      changed.set(name, read.record);
    }
  }
  const missing: string[] = [];
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
  }

  // 3. Write the merged registry and rebuild the derived groups in one transaction.
  await store.transaction(async (tx) => {
    for (const [name, record] of changed) await tx.set(GROUPS.registry, name, record);
    await rebuildDerivedGroups(ctx, tx, records);
  });

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
  };
  for (const [name, record] of records) {
    if (record.status !== 'running') continue;
    const dir = workspaceDir(root, name);
    if (record.pid === undefined) {
      // Claimed but never spawned (the runner died while preparing): nothing ran, so queue it again.
      await trackInTransaction(ctx, (track) =>
        track(name, {
          ...record,
          status: 'queued',
          queued_at: record.queued_at ?? isoUtc(ctx.clock.now()),
        }),
      );
      report.requeued.push(name);
      continue;
    }
    if (isProcessAlive(record.pid, record.pid_start)) {
      report.reattach.push({ name, record });
      continue;
    }
    const exit = readExitRecord(dir);
    const ref = { runs: record.runs, pid: record.pid };
    if (exit) {
      await finishRun(ctx, name, ref, {
        kind: 'exited',
        exitCode: exit.exit_code,
        signal: exit.signal,
        endedAt: new Date(exit.ended_at),
      });
      report.finished.push(name);
    } else {
      terminateGhostGroup(record.pid);
      await finishRun(ctx, name, ref, { kind: 'vanished' });
      report.ghosts.push(name);
    }
  }

  // 5. Orphan buffers.
  const orphans = await recoverOrphanBuffers(ctx.config.coreRoot, ctx.clock.now());
  report.orphansDiscarded = orphans.discarded.length;
  report.orphansQuarantined = orphans.quarantined.length;

  // 6. Terminal records without a journal entry (history in the store tells, without reading files).
  const history = new Map<string, string>();
  for (const [name, value] of await store.entries(GROUPS.dispatchHistory)) {
    const v = value as { updated_at?: string; runs?: number };
    if (typeof v.updated_at === 'string' && typeof v.runs === 'number')
      history.set(name, `${v.updated_at}#${v.runs}`);
  }
  for (const [name, record] of await currentRecords(ctx, records)) {
    if (!isTerminal(record.status) || !existsSync(workspaceDir(root, name))) continue;
    const committed = store.degraded
      ? !needsCommit(ctx, name, record)
      : history.get(name) === fingerprintOf(record);
    if (committed) continue;
    await commitWorkspace(ctx, name);
    report.committed.push(name);
  }
  ctx.logger.info(
    {
      workspaces: report.workspaces,
      reattached: report.reattach.length,
      ghosts: report.ghosts.length,
      finished: report.finished.length,
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

async function currentRecords(
  ctx: AppContext,
  fallback: Map<string, StatusRecord>,
): Promise<Map<string, StatusRecord>> {
  const store = await ctx.store();
  if (store.degraded) return fallback;
  const out = new Map<string, StatusRecord>();
  for (const [name, value] of await store.entries(GROUPS.registry)) {
    const parsed = statusRecordSchema.safeParse(value);
    if (parsed.success) out.set(name, parsed.data);
  }
  return out;
}
