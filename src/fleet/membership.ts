import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { GROUPS, isFleet, type StateStore, type StoreOps } from '../store/index.js';

/** One node of the registry (the `nodes` group): who it is and when it last proved it is alive. */
export const nodeEntrySchema = z.looseObject({
  node_id: z.string(),
  hostname: z.string(),
  pid: z.number().int(),
  started_at: z.string(),
  heartbeat_at: z.string(),
  version: z.string(),
  /** How long after its last heartbeat the node counts as dead; each node states its own. */
  lease_ms: z.number().positive(),
  /** Random per runner start: a heartbeat that finds another value knows its registration was replaced. */
  incarnation: z.string(),
  /** Set when a live node took this node's work over after its lease expired. */
  lost_at: z.string().optional(),
  taken_over_by: z.string().optional(),
});
/** A validated node registry entry. */
export type NodeEntry = z.infer<typeof nodeEntrySchema>;

/** A node's lease as others judge it: heartbeating, overdue, or already taken over. */
export type LeaseState = 'live' | 'expired' | 'lost';

/** The lease state of `entry` at `now`. */
export function leaseState(entry: NodeEntry, now: Date): LeaseState {
  if (entry.lost_at !== undefined) return 'lost';
  return now.getTime() - Date.parse(entry.heartbeat_at) > entry.lease_ms ? 'expired' : 'live';
}

/** Reads the node registry, skipping entries that do not parse. */
export async function readNodes(ops: Pick<StoreOps, 'entries'>): Promise<NodeEntry[]> {
  const out: NodeEntry[] = [];
  for (const [, value] of await ops.entries(GROUPS.nodes)) {
    const parsed = nodeEntrySchema.safeParse(value);
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

/** Heartbeat period and lease of this node, from agents.yaml `fleet`. */
export function leaseSettings(ctx: AppContext): { heartbeatMs: number; leaseMs: number } {
  const { heartbeat_seconds, lease_seconds } = ctx.config.file.fleet;
  return { heartbeatMs: heartbeat_seconds * 1000, leaseMs: lease_seconds * 1000 };
}

/**
 * This runner's place in the node registry: registered at start (a new incarnation replaces
 * the previous one of the same node id), then kept alive by a heartbeat every
 * `fleet.heartbeat_seconds`. A heartbeat that finds the registration replaced or taken over
 * stops and reports the loss once through `onLost`; `onBeat` runs after every good heartbeat
 * (the runner looks for dead nodes then), except during one lease after heartbeats failed.
 */
export class FleetMembership {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private readonly entry: NodeEntry;

  private constructor(
    private readonly ctx: AppContext,
    private readonly store: StateStore,
  ) {
    const now = isoUtc(ctx.clock.now());
    this.entry = {
      node_id: ctx.config.nodeId,
      hostname: hostname(),
      pid: process.pid,
      started_at: now,
      heartbeat_at: now,
      version: VERSION,
      lease_ms: leaseSettings(ctx).leaseMs,
      incarnation: randomBytes(8).toString('hex'),
    };
  }

  /**
   * Registers this node. Throws STATE_CONFLICT when another host holds a live lease under the
   * same node id (two machines must not share one: each would judge the other's work as its own).
   */
  static async join(ctx: AppContext): Promise<FleetMembership> {
    const store = await ctx.store();
    const m = new FleetMembership(ctx, store);
    await store.transaction(async (tx) => {
      const parsed = nodeEntrySchema.safeParse(await tx.get(GROUPS.nodes, m.entry.node_id));
      const held = parsed.success ? parsed.data : undefined;
      if (
        held !== undefined &&
        held.hostname !== m.entry.hostname &&
        leaseState(held, ctx.clock.now()) === 'live'
      )
        throw new AgenticError(
          'STATE_CONFLICT',
          `node id ${held.node_id} is held by a live runner on ${held.hostname} (pid ${held.pid}); give each node its own CORE_AGENT_FLEET_NODE_ID`,
        );
      await tx.set(GROUPS.nodes, m.entry.node_id, m.entry);
      // The embedded store has one node: an entry left under an earlier id (another hostname)
      // is that same node, not a peer whose work could be taken over.
      if (!isFleet(store))
        for (const [id] of await tx.entries(GROUPS.nodes))
          if (id !== m.entry.node_id) await tx.delete(GROUPS.nodes, id);
    });
    return m;
  }

  /** This node's id. */
  get nodeId(): string {
    return this.entry.node_id;
  }

  /** Starts the heartbeat; `afterOutage` (the store was unreachable until now) holds takeovers back for one lease. */
  start(onLost: (why: string) => void, onBeat: () => void, afterOutage = false): void {
    const { heartbeatMs, leaseMs } = leaseSettings(this.ctx);
    /** Set while heartbeats fail (the database does not answer); then the time they came back. */
    let outage = false;
    // A node that waited for the database at start is back from an outage too.
    let quietUntil = afterOutage ? this.ctx.clock.now().getTime() + leaseMs : 0;
    this.timer = setInterval(() => {
      if (this.beating) return;
      this.beating = this.beat()
        .then((lost) => {
          if (lost !== undefined) {
            this.stop();
            onLost(lost);
            return;
          }
          const now = this.ctx.clock.now().getTime();
          if (outage) {
            // Every node's heartbeat stopped with the database: the others look expired only
            // because they have not beaten again yet. Judge no one for one lease.
            outage = false;
            quietUntil = now + leaseMs;
            this.ctx.logger.info(
              { quiet_ms: leaseMs },
              'node heartbeat renewed after an outage; no takeover until the others had a lease to renew theirs',
            );
          }
          if (now >= quietUntil) onBeat();
        })
        .catch((err: unknown) => {
          outage = true;
          this.ctx.logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'node heartbeat failed; retrying',
          );
        })
        .finally(() => (this.beating = undefined));
    }, heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat; returns why the lease is lost, or undefined when it was renewed. */
  private async beat(): Promise<string | undefined> {
    return this.store.transaction(async (tx) => {
      const parsed = nodeEntrySchema.safeParse(await tx.get(GROUPS.nodes, this.entry.node_id));
      if (!parsed.success) return 'its registry entry is gone';
      const held = parsed.data;
      if (held.incarnation !== this.entry.incarnation)
        return `another runner registered as ${held.node_id} (pid ${held.pid} on ${held.hostname})`;
      if (held.lost_at !== undefined)
        return `node ${held.taken_over_by ?? '?'} took its work over at ${held.lost_at}`;
      this.entry.heartbeat_at = isoUtc(this.ctx.clock.now());
      await tx.set(GROUPS.nodes, this.entry.node_id, this.entry);
      return undefined;
    });
  }

  /** Stops the heartbeat (the entry stays; other nodes judge it by its last heartbeat). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the heartbeat and waits for one in flight. */
  async close(): Promise<void> {
    this.stop();
    await this.beating;
  }
}
