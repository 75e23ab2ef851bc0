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
 * The hold after a retryable failure at `now`: the first failure after the previous hold ended
 * extends the failure streak and holds the queue for that step of the back-off schedule (or the
 * Retry-After); failures of requests sent in the same wave keep the running hold (a longer
 * Retry-After stretches it). Returns the marks to store and the failed entry's `next_attempt`,
 * so an entry's wait follows the queue's streak (reset by any success), not its own attempt count.
 */
export function holdAfterFailure(
  marks: SyncMarks,
  now: Date,
  retryAfterMs: number | undefined,
  random: () => number,
): { marks: SyncMarks; nextAttempt: string } {
  const at = isoUtc(now);
  const throttledUntil =
    retryAfterMs === undefined ? undefined : isoUtc(new Date(now.getTime() + retryAfterMs));
  const hold = marks.hold_until;
  if (hold !== undefined && hold > at) {
    if (throttledUntil === undefined) return { marks: {}, nextAttempt: hold };
    return {
      marks: throttledUntil > hold ? { hold_until: throttledUntil } : {},
      nextAttempt: throttledUntil,
    };
  }
  const streak = (marks.failure_streak ?? 0) + 1;
  const until = throttledUntil ?? isoUtc(new Date(now.getTime() + backoffDelay(streak, random)));
  return { marks: { failure_streak: streak, hold_until: until }, nextAttempt: until };
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
