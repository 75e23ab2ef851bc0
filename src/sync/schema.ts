import { z } from 'zod';

/** One record of a push body: any journal fields, plus the workspace name `id` and the `fingerprint` computed at collection time. */
export type PushRecord = { id: string; fingerprint: string } & Record<string, unknown>;

/**
 * A pushed record: checks `id` and `fingerprint` without copying the record (queue entries carry
 * up to 500 of them and are read on every send). It is a cheap subset of dispatchRecordSchema in
 * protocol/sync-wire.ts, which the hub checks every record against on arrival.
 */
export const pushRecordSchema = z.custom<PushRecord>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as { id?: unknown }).id === 'string' &&
    (v as { id: string }).id !== '' &&
    typeof (v as { fingerprint?: unknown }).fingerprint === 'string' &&
    (v as { fingerprint: string }).fingerprint !== '',
  { message: 'a dispatch record needs a non-empty "id" and "fingerprint"' },
);

const isoString = z.string().min(1);

/**
 * One queued push (the `sync_queue` group): sent as one request with `Idempotency-Key: <id>`.
 * `lease_*` hold the entry's lease in queue.json when degraded (the store keeps leases apart);
 * `degraded` marks entries created while the store was unavailable (imported once it is back).
 */
export const pushEntrySchema = z.looseObject({
  id: z.string().min(1),
  agent_id: z.string().min(1),
  fleet_node_id: z.string().min(1).optional(),
  dispatches: z.array(pushRecordSchema),
  queued_at: isoString,
  attempts: z.number().int().nonnegative(),
  next_attempt: isoString,
  last_error: z.string().optional(),
  /** When the last attempt failed; a later successful push makes the entry sendable at once. */
  failed_at: isoString.optional(),
  /** The last failure carried a Retry-After: `next_attempt` holds even after a success. */
  throttled: z.boolean().optional(),
  lease_owner: z.string().optional(),
  lease_until: z.string().optional(),
  degraded: z.boolean().optional(),
});
/** A queued push. */
export type PushEntry = z.infer<typeof pushEntrySchema>;

/** Marks a queued entry as in flight in one process until `until` (owner = `<host>:<pid>:<random>`). */
export const leaseSchema = z.object({ owner: z.string().min(1), until: z.string().min(1) });
/** An entry's lease. */
export type Lease = z.infer<typeof leaseSchema>;

/** A dead-lettered push: the entry as it was, when and why it was dropped. */
export const droppedEntrySchema = pushEntrySchema.extend({
  dropped_at: isoString,
  reason: z.string(),
});
/** A dropped push, kept until `agentic sync retry-dropped`. */
export type DroppedEntry = z.infer<typeof droppedEntrySchema>;

/** What a sync history record describes. */
export const DIRECTIONS = ['push', 'pull', 'drop'] as const;

/** One sync history record (`push`, `pull` or `drop`); the history keeps the last 100. */
export const historyRecordSchema = z.looseObject({
  agent_id: z.string(),
  fleet_node_id: z.string().optional(),
  direction: z.enum(DIRECTIONS),
  payload_size: z.number().int().nonnegative(),
  items_count: z.number().int().nonnegative(),
  synced_at: isoString,
  attempts: z.number().int().nonnegative().optional(),
  reason: z.string().optional(),
});
/** A sync history record. */
export type HistoryRecord = z.infer<typeof historyRecordSchema>;

/**
 * Times of the last successful push and pull, and the queue-wide hold after failures
 * (`sync_state` group, key `status`; `sync/marks.json`).
 */
export const syncMarksSchema = z.looseObject({
  last_push_at: isoString.optional(),
  last_pull_at: isoString.optional(),
  /** Where the next pull starts: the hub's own context cursor (opaque), never this node's clock. */
  pull_cursor: z.string().min(1).optional(),
  /** The hub URL `pull_cursor` came from; a cursor means nothing to another hub. */
  pull_hub: z.string().optional(),
  /** No entry is sent before this (unless forced): set by a retryable failure, cleared by a success. */
  hold_until: isoString.optional(),
  /** Failed waves since the last success; picks the hold's back-off step. */
  failure_streak: z.number().int().nonnegative().optional(),
  /**
   * Counts successes and back-off steps: a request sent under an older value failed in a wave
   * that a success or a step has already answered, so its failure does not step the schedule.
   */
  wave: z.number().int().nonnegative().optional(),
});
/** Last push and pull times, and the hold. */
export type SyncMarks = z.infer<typeof syncMarksSchema>;
