import type { FleetSource, HubStorage } from './storage/index.js';

/** One node as the fleet's own view computes it (src/fleet/view.ts); the fields the hub reads. */
export interface FleetReadingNode {
  node_id: string;
  hostname: string;
  pid: number;
  version: string;
  started_at: string;
  heartbeat_at: string;
  heartbeat_age_s: number;
  lease_ms: number;
  /** `live`, `expired` or `lost`. */
  lease: string;
  running: number;
  lost_at?: string | undefined;
  taken_over_by?: string | undefined;
}

/**
 * The computation behind `agentic fleet nodes` (src/fleet/view.ts `fleetState`). The hub sits
 * below src/fleet/ in the layers, so whoever starts it hands this in (the `hub` verb does), and
 * the dashboard shows exactly what the CLI shows rather than a second reckoning of its own.
 */
export type FleetReader = (
  store: NonNullable<FleetSource['store']>,
  now: Date,
) => Promise<{ engine: string; nodes: FleetReadingNode[]; queued: number }>;

/**
 * One node of the fleet's registry as the dashboard shows it (what `agentic fleet nodes` lists):
 * heartbeat age by the hub's clock; `lost_at` / `taken_over_by` null until another node took its
 * work over.
 */
export type DashboardFleetNode = Omit<FleetReadingNode, 'lost_at' | 'taken_over_by'> & {
  lost_at: string | null;
  taken_over_by: string | null;
};

/**
 * The document behind the dashboard's Fleet view (`GET /v1/dashboard/fleet`): the fleet's nodes
 * when the hub's database is the fleet's state store, else `fleet: false` and the reason.
 */
export type DashboardFleet =
  | {
      generated_at: string;
      fleet: true;
      engine: string;
      nodes: DashboardFleetNode[];
      /** Queued records: bound to no node, the first live node with a free slot claims each. */
      queued: number;
    }
  | { generated_at: string; fleet: false; reason: string };

/**
 * Reads the Fleet view at `now` with `reader`. Only the fields an operator reads leave the hub:
 * a node's incarnation (which tells a runner its registration was replaced) and any field a newer
 * node adds stay in the store.
 */
export async function dashboardFleet(
  storage: HubStorage,
  reader: FleetReader | undefined,
  now: Date,
): Promise<DashboardFleet> {
  const generated_at = now.toISOString();
  const source = await storage.fleetSource();
  if (source.store === undefined) return { generated_at, fleet: false, reason: source.reason };
  if (reader === undefined)
    return {
      generated_at,
      fleet: false,
      reason: 'this hub was started without a fleet reader (HubAppOptions.fleetReader)',
    };
  const view = await reader(source.store, now);
  return {
    generated_at,
    fleet: true,
    engine: view.engine,
    nodes: view.nodes.map((n) => ({
      node_id: n.node_id,
      hostname: n.hostname,
      pid: n.pid,
      version: n.version,
      started_at: n.started_at,
      heartbeat_at: n.heartbeat_at,
      heartbeat_age_s: n.heartbeat_age_s,
      lease_ms: n.lease_ms,
      lease: n.lease,
      running: n.running,
      lost_at: n.lost_at ?? null,
      taken_over_by: n.taken_over_by ?? null,
    })),
    queued: view.queued,
  };
}
