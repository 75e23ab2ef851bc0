import type { AppContext } from '../context.js';
import { leaseState, readNodes, type LeaseState } from './membership.js';
import { isFleet } from '../store/index.js';

/**
 * The lease state of each fleet node by id (unknown ids are absent), for saying why pinned work
 * waits; undefined outside a fleet.
 */
export type NodeLeases = ReadonlyMap<string, LeaseState>;

/**
 * The lease state of every registered node now, for explaining pinned work that waits;
 * undefined outside a fleet, where one node runs everything.
 */
export async function nodeLeases(ctx: AppContext): Promise<NodeLeases | undefined> {
  const store = await ctx.store();
  if (!isFleet(store)) return undefined;
  const now = ctx.clock.now();
  return new Map((await readNodes(store)).map((n) => [n.node_id, leaseState(n, now)]));
}
