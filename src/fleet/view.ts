import type { AppContext } from '../context.js';
import { GROUPS, type StateStore } from '../store/index.js';
import { registryRecord } from '../workspace/record-schema.js';
import { leaseState, readNodes, type LeaseState, type NodeEntry } from './membership.js';

/** One node as `agentic fleet nodes` shows it. */
export interface NodeView extends NodeEntry {
  lease: LeaseState;
  /** Seconds since its last heartbeat. */
  heartbeat_age_s: number;
  /** Records running under this node. */
  running: number;
}

/** The fleet as the shared store sees it: every registered node, plus the work waiting for any of them. */
export interface FleetView {
  engine: string;
  /** This process's node id. */
  self: string;
  nodes: NodeView[];
  /** Queued records: not bound to a node, the first live node with a free slot claims each. */
  queued: number;
}

/** Reads the node registry with each node's lease state and running count. */
export async function fleetView(ctx: AppContext): Promise<FleetView> {
  const { engine, nodes, queued } = await fleetState(await ctx.store(), ctx.clock.now());
  return { engine, self: ctx.config.nodeId, nodes, queued };
}

/**
 * The fleet in `store` as judged at `now`, for a reader that is not itself a node (the hub's
 * dashboard): everything {@link fleetView} shows but `self`.
 */
export async function fleetState(
  store: Pick<StateStore, 'engine' | 'entries' | 'get' | 'count'>,
  now: Date,
): Promise<Omit<FleetView, 'self'>> {
  const running = new Map<string, number>();
  for (const [name] of await store.entries(GROUPS.running)) {
    const node = registryRecord(await store.get(GROUPS.registry, name))?.node ?? '';
    running.set(node, (running.get(node) ?? 0) + 1);
  }
  const nodes = (await readNodes(store))
    .map((n) => ({
      ...n,
      lease: leaseState(n, now),
      heartbeat_age_s: Math.max(
        0,
        Math.round((now.getTime() - Date.parse(n.heartbeat_at)) / 100) / 10,
      ),
      running: running.get(n.node_id) ?? 0,
    }))
    .sort((a, b) => a.node_id.localeCompare(b.node_id));
  return { engine: store.engine, nodes, queued: await store.count(GROUPS.queue) };
}
