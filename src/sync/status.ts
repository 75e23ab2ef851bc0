import type { SyncDeps } from './deps.js';
import { nextSendAt } from './queue/gate.js';
import { readContextCache } from './pull.js';

/** What `agentic sync status` reports: the local view merged with the hub's. */
export interface SyncStatusReport {
  agent_id: string;
  fleet_node_id: string | null;
  /** `offline` (no token or URL), `online` (the hub answered) or `unreachable` (see `remote_error`). */
  status: 'offline' | 'online' | 'unreachable';
  hub_url: string | null;
  /** Queued entries (one request each) and the records in them. */
  queued: number;
  queued_records: number;
  /** Dead-lettered entries waiting for `agentic sync retry-dropped`. */
  dropped: number;
  last_push_at: string | null;
  last_pull_at: string | null;
  context_count: number;
  /** When a queued entry may be sent next (its back-off and the queue-wide hold). */
  next_attempt: string | null;
  /** The head entry's last failure. */
  last_error: string | null;
  /** True when the JSON files carry the sync state (store unavailable). */
  degraded: boolean;
  offline_reason?: string;
  /** The hub's own view (`GET /v1/agent/status` data). */
  remote?: Record<string, unknown>;
  remote_error?: string;
}

/** Builds the status report; a hub error is reported in `remote_error`, never thrown. */
export async function syncStatus(deps: SyncDeps): Promise<SyncStatusReport> {
  const { settings, client, state, clock, logger, paths } = deps;
  const local = await state.run(async (tx) => {
    const queue = await tx.listQueue();
    return {
      queue,
      dropped: (await tx.listDropped()).length,
      marks: await tx.marks(),
    };
  }, 'defer');
  const head = local.queue[0];
  const report: SyncStatusReport = {
    agent_id: settings.agentId,
    fleet_node_id: settings.fleetNodeId ?? null,
    status: 'offline',
    hub_url: settings.url ?? null,
    queued: local.queue.length,
    queued_records: local.queue.reduce((n, e) => n + e.dispatches.length, 0),
    dropped: local.dropped,
    last_push_at: local.marks.last_push_at ?? null,
    last_pull_at: local.marks.last_pull_at ?? null,
    context_count: readContextCache(paths, { now: clock.now(), logger }).length,
    next_attempt:
      nextSendAt(
        local.queue.map((e) => ({ ...e, lease: undefined })),
        local.marks,
        deps.owner,
        clock.now(),
      ) ?? null,
    last_error: head?.last_error ?? null,
    degraded: state.degraded,
  };
  if (client === undefined) {
    report.offline_reason = settings.offlineReason ?? 'no token';
    return report;
  }
  try {
    report.remote = await client.status(settings.agentId);
    report.status = 'online';
  } catch (err) {
    report.status = 'unreachable';
    report.remote_error = err instanceof Error ? err.message : String(err);
  }
  return report;
}
