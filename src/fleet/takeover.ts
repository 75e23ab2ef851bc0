import type { AppContext } from '../context.js';
import { commitWorkspaces } from '../lifecycle/commit.js';
import { trackInTransaction, type Track } from '../lifecycle/index.js';
import { isoUtc } from '../lib/clock.js';
import { GROUPS, isFleet, type StoreOps } from '../store/index.js';
import { type StatusRecord } from '../workspace/index.js';
import { registryRecord } from '../workspace/record-schema.js';
import { leaseState, nodeEntrySchema, readNodes } from './membership.js';

/** What one takeover pass did. */
export interface TakeoverReport {
  /** Nodes whose lease had expired and whose work this node took over. */
  nodes: string[];
  /** Running records queued again (their run starts over in a fresh workspace on the claimer). */
  requeued: string[];
  /** Running records failed "node <id> lost" (`dispatch.requeue_on_node_loss: false`, or a stop was asked for). */
  failed: string[];
  /** Queued records whose pin to a lost node was only for its clone: any node may run them now. */
  unpinned: string[];
}

/** The question of a record failed because its node died. */
export function nodeLostQuestion(node: string): string {
  return `node ${node} lost`;
}

/**
 * Takes over the work of every other node whose lease has expired, in one transaction that
 * re-checks each lease first (a node that heartbeat meanwhile keeps its work): each of its
 * running records is queued again, or failed with "node <id> lost" when re-running is not
 * allowed or the run was being stopped anyway; every such write raises the record's epoch, so
 * the dead node, should it come back, cannot write over it. A pin to the lost node made only
 * because its disk held the clone (a resume) is dropped, from those runs and from queued work:
 * the clone went with the node, so the work starts over anywhere; a pin asked for (`--node`) or
 * made for a local path stays. The node is then marked lost; its next heartbeat finds that and
 * stops it. Failed records are journaled here, by the taker.
 */
export async function takeOverLostNodes(ctx: AppContext): Promise<TakeoverReport> {
  const report: TakeoverReport = { nodes: [], requeued: [], failed: [], unpinned: [] };
  const store = await ctx.store();
  if (!isFleet(store)) return report;
  const self = ctx.config.nodeId;
  // A cheap look first: most passes find every node live and open no transaction.
  const overdue = (await readNodes(store)).filter(
    (n) => n.node_id !== self && leaseState(n, ctx.clock.now()) === 'expired',
  );
  if (overdue.length === 0) return report;
  const requeue = ctx.config.file.dispatch.requeue_on_node_loss;
  const failed = new Map<string, StatusRecord>();
  await trackInTransaction(ctx, async (track, tx) => {
    const now = ctx.clock.now();
    const lost = new Set<string>();
    for (const candidate of overdue) {
      const parsed = nodeEntrySchema.safeParse(await tx.get(GROUPS.nodes, candidate.node_id));
      if (!parsed.success || leaseState(parsed.data, now) !== 'expired') continue;
      lost.add(parsed.data.node_id);
      await tx.set(GROUPS.nodes, parsed.data.node_id, {
        ...parsed.data,
        lost_at: isoUtc(now),
        taken_over_by: self,
      });
    }
    if (lost.size === 0) return;
    report.nodes.push(...lost);
    for (const [name] of await tx.entries(GROUPS.running)) {
      const record = registryRecord(await tx.get(GROUPS.registry, name));
      if (record?.status !== 'running' || record.node === undefined || !lost.has(record.node))
        continue;
      const { pid: _p, pid_start: _s, process_id: _i, kill_reason, ...rest } = record;
      const epoch = (record.epoch ?? 0) + 1;
      if (requeue && kill_reason === undefined) {
        const next = await track(name, {
          ...rest,
          ...unpinnedFrom(record, lost),
          status: 'queued',
          node: undefined,
          epoch,
          queued_at: record.queued_at ?? isoUtc(now),
          requeued_from_node: record.node,
        });
        if (next) report.requeued.push(name);
      } else {
        const next = await track(name, {
          ...rest,
          status: 'failed',
          question: nodeLostQuestion(record.node),
          // The taker journals it, so the record is now its own.
          node: self,
          epoch,
        });
        if (next) {
          report.failed.push(name);
          failed.set(name, next);
        }
      }
    }
    report.unpinned.push(...(await unpinQueued(track, tx, lost)));
  });
  if (failed.size > 0) await commitWorkspaces(ctx, failed);
  if (report.nodes.length > 0) ctx.logger.warn({ ...report }, 'took over the work of lost nodes');
  return report;
}

/**
 * The fields that free a record from its pin to a lost node when the pin was there only because
 * the node held the clone (a resume): the clone went with the node, so the run starts over from
 * the source on any node, without the conversation kept on that node's disk. A pin asked for
 * (`--node`) or made for a local path stays: that work waits for its node.
 */
function unpinnedFrom(
  record: StatusRecord,
  lost: ReadonlySet<string>,
): Pick<StatusRecord, 'node_affinity' | 'affinity_reason' | 'resume_session'> | undefined {
  if (
    record.affinity_reason !== 'workspace' ||
    record.node_affinity === undefined ||
    !lost.has(record.node_affinity)
  )
    return undefined;
  return { node_affinity: undefined, affinity_reason: undefined, resume_session: undefined };
}

/** Unpins the queued records pinned to a lost node only for its clone; returns their names. */
async function unpinQueued(
  track: Track,
  tx: StoreOps,
  lost: ReadonlySet<string>,
): Promise<string[]> {
  const out: string[] = [];
  for (const [name, entry] of await tx.entries(GROUPS.queue)) {
    const pin = (entry as { node_affinity?: unknown } | null)?.node_affinity;
    if (typeof pin !== 'string' || !lost.has(pin)) continue;
    const record = registryRecord(await tx.get(GROUPS.registry, name));
    if (record?.status !== 'queued') continue;
    const free = unpinnedFrom(record, lost);
    if (free === undefined) continue;
    if (await track(name, { ...record, ...free, node: undefined })) out.push(name);
  }
  return out;
}
