import { z } from 'zod';
import type { AppContext } from '../context.js';
import { poolLimits, type ConcurrencySnapshot } from './capacity.js';
import { needsCommit } from './commit.js';
import { fenceViolation } from './fence.js';
import { isoUtc } from '../lib/clock.js';
import { GROUPS, type EarlyCommit, type StoreOps, isFleet } from '../store/index.js';
import {
  fingerprintOf,
  isTerminal,
  modelOf,
  parseWorkspaceName,
  poolOf,
  queueEntryOf,
  workspaceDir,
  type StatusRecord,
} from '../workspace/index.js';
import { writeStatusFiles } from '../workspace/status-file.js';
import { registryRecord } from '../workspace/record-schema.js';

/** The `queue` group value of a queued workspace (docs/ARCHITECTURE.md). */
export const queueEntrySchema = z.object({
  repo: z.string(),
  org: z.string(),
  branch: z.string(),
  task: z.string(),
  agent: z.string(),
  priority: z.number(),
  queued_at: z.string(),
  node_affinity: z.string().optional(),
});
export { queueEntryOf } from '../workspace/index.js';
export type { QueueEntry } from '../workspace/index.js';

/**
 * Applies one status change inside a transaction opened by {@link trackInTransaction}; returns
 * the stamped record, or null when it removed the record or fleet fencing refused the change.
 */
export type Track = (name: string, record: StatusRecord | null) => Promise<StatusRecord | null>;

/**
 * THE function that changes a workspace's status (docs/ARCHITECTURE.md). In one store transaction it
 * upserts `registry`, keeps `queue` in step (present exactly while `queued`) and refreshes the
 * `concurrency` snapshot of the pools involved; then it writes the status.json mirror (unless
 * the engine keeps status.json itself, see StateStore.ownsStateFiles). `null` removes the
 * workspace from registry and queue. Returns the stamped record: `updated_at` is now, or 1 ms
 * after the version it replaces when now is not later.
 * Throws WORKSPACE_NAME_INVALID for a bad name; store and file errors propagate.
 */
export async function trackWorkspace(
  ctx: AppContext,
  name: string,
  record: StatusRecord | null,
): Promise<StatusRecord | null> {
  return trackInTransaction(ctx, (track) => track(name, record));
}

/**
 * Runs `body` in one store transaction in which `track` applies status changes exactly as
 * {@link trackWorkspace} does, so a caller can read, decide and change status atomically (a
 * claim checks capacity and flips queued → running in one transaction). The status.json
 * mirrors are written after the commit is durable, and only if it succeeded.
 */
export async function trackInTransaction<T>(
  ctx: AppContext,
  body: (track: Track, tx: StoreOps) => Promise<T>,
): Promise<T> {
  const { result, durable } = await trackCommitted(ctx, body);
  await durable;
  return result;
}

/**
 * {@link trackInTransaction}, resolving at COMMIT when the store commits early (the runner's
 * group commit; see StateStore.commitEarly): the mirrors, then `after`, are written once the
 * commit is durable, in commit order, and `durable` settles after them. On any other store it
 * resolves with all of that done.
 */
export async function trackCommitted<T>(
  ctx: AppContext,
  body: (track: Track, tx: StoreOps) => Promise<T>,
  after?: () => void,
): Promise<EarlyCommit<T>> {
  const store = await ctx.store();
  const fleet = isFleet(store);
  const mirrors = new Map<string, StatusRecord>();
  /** Set when work became claimable (queued, or a running slot freed): other nodes are told. */
  let claimable = false;
  const run = (tx: StoreOps): Promise<T> => {
    mirrors.clear();
    claimable = false;
    const track: Track = async (name, record) => {
      parseWorkspaceName(name);
      const now = ctx.clock.now();
      const old = (await tx.get(GROUPS.registry, name)) as StatusRecord | undefined;
      const stamped = record === null ? null : { ...record, updated_at: nextStamp(now, old) };
      // Fleet mode: a node that lost its lease never writes over its successor's work.
      const refused = fleet ? fenceViolation(old, stamped, ctx.config.nodeId) : undefined;
      if (refused !== undefined) {
        ctx.logger.warn({ workspace: name, reason: refused }, 'status change refused');
        return null;
      }
      if (stamped === null) await tx.delete(GROUPS.registry, name);
      else await tx.set(GROUPS.registry, name, stamped);
      if (stamped?.status === 'queued') await tx.set(GROUPS.queue, name, queueEntryOf(stamped));
      else if (old === undefined || old.status === 'queued') await tx.delete(GROUPS.queue, name);
      if (stamped !== null && isTerminal(stamped.status))
        await tx.set(GROUPS.uncommitted, name, fingerprintOf(stamped));
      else if (old !== undefined && isTerminal(old.status))
        await tx.delete(GROUPS.uncommitted, name);
      const wasRunning = old?.status === 'running' ? old.agent : undefined;
      const isRunning = stamped?.status === 'running' ? stamped.agent : undefined;
      if (stamped?.status === 'queued' || (wasRunning !== undefined && isRunning === undefined))
        claimable = true;
      // Running before and after on the same agent (a pid recorded): nothing derived changes.
      if (wasRunning !== isRunning) {
        if (wasRunning !== undefined) await adjustRunning(ctx, tx, wasRunning, -1, now);
        if (isRunning !== undefined) {
          await adjustRunning(ctx, tx, isRunning, +1, now);
          await tx.set(GROUPS.running, name, isRunning);
        } else await tx.delete(GROUPS.running, name);
      }
      if (stamped === null) mirrors.delete(name);
      else mirrors.set(name, stamped);
      return stamped;
    };
    return body(track, tx);
  };
  const then = async (): Promise<void> => {
    // The file engine has written status.json itself, durably: it is no mirror to rewrite.
    if (!store.ownsStateFiles)
      await writeStatusFiles(
        [...mirrors].map(([name, record]) => [
          workspaceDir(ctx.config.workspaceRoot, name),
          record,
        ]),
        { durable: false },
      );
    after?.();
    // Fleet wake-up; the other nodes' poll is the safety net when it does not arrive.
    if (claimable && store.notifyWake)
      await store
        .notifyWake()
        .catch((err: unknown) =>
          ctx.logger.warn({ err: (err as Error).message }, 'fleet wake-up not sent'),
        );
  };
  if (store.commitEarly) return store.commitEarly(run, then);
  const result = await store.transaction(run);
  await then();
  return { result, durable: Promise.resolve() };
}

/**
 * Writes records restored from disk (status.json files, journals) to the registry as they are:
 * a restore keeps the disk's `updated_at` and writes no mirror, where a status change through
 * {@link trackWorkspace} stamps now and mirrors. Terminal records whose journal lacks this
 * version are listed in `uncommitted`. With `fenced` (fleet mode) a copy from before a takeover
 * never replaces the shared record; with `all`, the derived groups are rebuilt from that
 * complete set afterwards, in the caller's transaction.
 */
export async function restoreRecords(
  ctx: AppContext,
  tx: StoreOps,
  records: ReadonlyMap<string, StatusRecord>,
  options: { fenced: boolean; all?: Map<string, StatusRecord> | undefined },
): Promise<void> {
  for (const [name, record] of records) {
    if (
      options.fenced &&
      fenceViolation(registryRecord(await tx.get(GROUPS.registry, name)), record, ctx.config.nodeId)
    )
      continue;
    await tx.set(GROUPS.registry, name, record);
    if (isTerminal(record.status) && needsCommit(ctx, name, record))
      await tx.set(GROUPS.uncommitted, name, fingerprintOf(record));
  }
  if (options.all) await rebuildDerivedGroups(ctx, tx, options.all);
}

async function adjustRunning(
  ctx: AppContext,
  tx: StoreOps,
  agent: string,
  delta: number,
  now: Date,
): Promise<void> {
  const pool = poolOf(agent);
  const model = modelOf(agent);
  const snap =
    ((await tx.get(GROUPS.concurrency, pool)) as ConcurrencySnapshot | undefined) ??
    emptySnapshot();
  const models = { ...snap.models };
  if (model !== undefined) {
    const n = Math.max(0, (models[model] ?? 0) + delta);
    if (n === 0) delete models[model];
    else models[model] = n;
  }
  const next: ConcurrencySnapshot = {
    running: Math.max(0, snap.running + delta),
    limit: poolLimits(ctx.config.file, pool).total,
    snapshot_at: isoUtc(now),
    models,
  };
  await tx.set(GROUPS.concurrency, pool, next);
}

function emptySnapshot(): ConcurrencySnapshot {
  return { running: 0, limit: 0, snapshot_at: '', models: {} };
}

/**
 * Rewrites the derived groups (`queue`, `running`, `concurrency`) from a complete list of
 * records, inside the caller's transaction. Used by hydrate and by the rebuild of a quarantined
 * database. Clients keep enqueueing, cancelling and resuming while those run: for every name the
 * queue or the running set involves, a registry row newer than the caller's copy is taken into
 * `records` first, so a rebuild never drops a dispatch queued meanwhile.
 */
export async function rebuildDerivedGroups(
  ctx: AppContext,
  tx: StoreOps,
  records: Map<string, StatusRecord>,
): Promise<void> {
  const queued = (await tx.entries(GROUPS.queue)).map(([name]) => name);
  const involved = new Set(queued);
  // Runs another node started meanwhile are counted too (fleet mode).
  for (const [name] of await tx.entries(GROUPS.running)) involved.add(name);
  for (const [name, record] of records)
    if (record.status === 'queued' || record.status === 'running') involved.add(name);
  for (const name of involved) {
    const row = registryRecord(await tx.get(GROUPS.registry, name));
    const mine = records.get(name);
    if (row && (mine === undefined || row.updated_at > mine.updated_at)) records.set(name, row);
  }
  const now = ctx.clock.now();
  for (const name of queued) {
    if (records.get(name)?.status !== 'queued') await tx.delete(GROUPS.queue, name);
  }
  for (const [key] of await tx.entries(GROUPS.running)) {
    if (records.get(key)?.status !== 'running') await tx.delete(GROUPS.running, key);
  }
  const snapshots = new Map<string, ConcurrencySnapshot>();
  for (const [key] of await tx.entries(GROUPS.concurrency)) snapshots.set(key, emptySnapshot());
  for (const [name, r] of records) {
    if (r.status === 'queued') await tx.set(GROUPS.queue, name, queueEntryOf(r));
    if (r.status !== 'running') continue;
    await tx.set(GROUPS.running, name, r.agent);
    const pool = poolOf(r.agent);
    const snap = snapshots.get(pool) ?? emptySnapshot();
    snap.running += 1;
    const model = modelOf(r.agent);
    if (model !== undefined) snap.models[model] = (snap.models[model] ?? 0) + 1;
    snapshots.set(pool, snap);
  }
  for (const [pool, snap] of snapshots) {
    await tx.set(GROUPS.concurrency, pool, {
      ...snap,
      limit: poolLimits(ctx.config.file, pool).total,
      snapshot_at: isoUtc(now),
    });
  }
}

/**
 * The `updated_at` of a new version: now, but always after the version it replaces. Two
 * transitions within one millisecond (or a clock that stepped back) would otherwise give two
 * versions one stamp, and with it one fingerprint: a restart could not tell the stale mirror
 * from the current record, nor the hub one version from the other.
 */
function nextStamp(now: Date, old: StatusRecord | undefined): string {
  const after = old === undefined ? Number.NaN : Date.parse(old.updated_at) + 1;
  return isoUtc(new Date(Number.isNaN(after) ? now.getTime() : Math.max(now.getTime(), after)));
}
