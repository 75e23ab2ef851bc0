import { isoUtc } from '../lib/clock.js';
import { backoffDelay } from './backoff.js';
import type { Lease, SyncMarks } from './schema.js';
import { leasedByOther, type LeaseOwner } from './lease.js';

/** The timing fields of a queued entry (what decides when it may be sent). */
export interface EntryTiming {
  id: string;
  next_attempt: string;
  failed_at?: string | undefined;
  throttled?: boolean | undefined;
}

/**
 * When an entry may be sent (RFC 3339): its own `next_attempt`, except that a successful push
 * after its failure shows the hub is healthy again, so it may go at once (not when the hub
 * throttled it with Retry-After); never before the queue-wide hold ends.
 */
export function sendableAt(entry: EntryTiming, marks: SyncMarks): string {
  const rescued =
    entry.throttled !== true &&
    entry.failed_at !== undefined &&
    marks.last_push_at !== undefined &&
    marks.last_push_at > entry.failed_at;
  const own = rescued ? '' : entry.next_attempt;
  const hold = marks.hold_until ?? '';
  return own > hold ? own : hold;
}

/**
 * The marks after a retryable failure at `now`: the first failure after the hold ended extends
 * the failure streak and holds the queue for that step of the back-off schedule (or the
 * Retry-After); failures of requests sent in the same wave only stretch a Retry-After.
 */
export function holdAfterFailure(
  marks: SyncMarks,
  now: Date,
  delays: { retryAfterMs: number | undefined; entryAttempts: number; entryDelayMs: number },
  random: () => number,
): SyncMarks {
  const at = isoUtc(now);
  const streak = marks.failure_streak ?? 0;
  const holding = marks.hold_until !== undefined && marks.hold_until > at;
  if (holding) {
    if (delays.retryAfterMs === undefined) return {};
    const until = isoUtc(new Date(now.getTime() + delays.retryAfterMs));
    return until > (marks.hold_until ?? '') ? { hold_until: until } : {};
  }
  const next = streak + 1;
  const delay =
    delays.retryAfterMs ??
    (next === delays.entryAttempts ? delays.entryDelayMs : backoffDelay(next, random));
  return { failure_streak: next, hold_until: isoUtc(new Date(now.getTime() + delay)) };
}

/** The marks after a successful push at `now`: the hold and the failure streak are cleared. */
export function holdAfterSuccess(now: Date): SyncMarks {
  const at = isoUtc(now);
  return { last_push_at: at, hold_until: at, failure_streak: 0 };
}

/** When the next send can happen: the earliest sendable time over the queue, or the end of another process's lease; undefined when empty. */
export function nextSendAt(
  entries: ReadonlyArray<EntryTiming & { lease: Lease | undefined }>,
  marks: SyncMarks,
  owner: LeaseOwner,
  now: Date,
): string | undefined {
  let earliest: string | undefined;
  for (const entry of entries) {
    const at = leasedByOther(entry.lease, owner, now)
      ? (entry.lease?.until ?? entry.next_attempt)
      : sendableAt(entry, marks) || isoUtc(now);
    if (earliest === undefined || at < earliest) earliest = at;
  }
  return earliest;
}
