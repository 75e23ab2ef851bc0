import { isoUtc } from '../../lib/clock.js';
import { backoffDelay } from './backoff.js';
import type { Lease, SyncMarks } from '../schema.js';
import { leasedByOther, type LeaseOwner } from './entry-lease.js';

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
 *
 * `sentWave` is the marks' `wave` when the request was sent. When it is given and a success or
 * a step has happened since (the wave moved on), the request belonged to a wave that has already
 * been answered: its failure does not step the schedule again, however long it took to arrive
 * (a request that times out after the hold it started has ended is not a second failed wave),
 * and the entry waits only for a hold still running or its Retry-After. A step advances `wave`.
 */
export function holdAfterFailure(
  marks: SyncMarks,
  now: Date,
  retryAfterMs: number | undefined,
  random: () => number,
  sentWave?: number,
): { marks: SyncMarks; nextAttempt: string } {
  const at = isoUtc(now);
  const throttledUntil =
    retryAfterMs === undefined ? undefined : isoUtc(new Date(now.getTime() + retryAfterMs));
  const hold = marks.hold_until;
  const running = hold !== undefined && hold > at ? hold : undefined;
  if (sentWave !== undefined && sentWave !== (marks.wave ?? 0)) {
    const wait = latest(at, running, throttledUntil);
    return {
      marks:
        throttledUntil !== undefined && throttledUntil > (hold ?? '') ? { hold_until: wait } : {},
      nextAttempt: wait,
    };
  }
  if (running !== undefined) {
    if (throttledUntil === undefined) return { marks: {}, nextAttempt: running };
    return {
      marks: throttledUntil > running ? { hold_until: throttledUntil } : {},
      nextAttempt: throttledUntil,
    };
  }
  const streak = (marks.failure_streak ?? 0) + 1;
  const until = throttledUntil ?? isoUtc(new Date(now.getTime() + backoffDelay(streak, random)));
  return {
    marks: {
      failure_streak: streak,
      hold_until: until,
      ...(sentWave !== undefined ? { wave: sentWave + 1 } : {}),
    },
    nextAttempt: until,
  };
}

/**
 * The marks after a successful push at `now`: the hold and the failure streak are cleared and
 * `wave` advances, so requests still in flight from before belong to an answered wave.
 */
export function holdAfterSuccess(marks: SyncMarks, now: Date): SyncMarks {
  const at = isoUtc(now);
  return { last_push_at: at, hold_until: at, failure_streak: 0, wave: (marks.wave ?? 0) + 1 };
}

function latest(first: string, ...others: Array<string | undefined>): string {
  let out = first;
  for (const x of others) if (x !== undefined && x > out) out = x;
  return out;
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
