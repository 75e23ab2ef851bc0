import type { StatusRecord } from './record.js';

/** The `queue` group value of a queued workspace (docs/ARCHITECTURE.md): what a claim orders by. */
export interface QueueEntry {
  repo: string;
  org: string;
  branch: string;
  task: string;
  agent: string;
  priority: number;
  queued_at: string;
  /** The only node that may claim it (fleet mode); absent: any node. */
  node_affinity?: string;
}

/** The queue entry of a queued record; `queued_at` falls back to `updated_at`. */
export function queueEntryOf(record: StatusRecord): QueueEntry {
  return {
    repo: record.repo,
    org: record.org,
    branch: record.branch,
    task: record.task,
    agent: record.agent,
    priority: record.priority,
    queued_at: record.queued_at ?? record.updated_at,
    ...(record.node_affinity !== undefined ? { node_affinity: record.node_affinity } : {}),
  };
}
