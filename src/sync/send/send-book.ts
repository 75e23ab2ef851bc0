import { isoUtc } from '../../lib/clock.js';
import type { PushResult } from '../client.js';
import type { SyncDeps } from '../deps.js';
import type { Settled } from '../queue/queue.js';
import type { PushEntry, SyncMarks } from '../schema.js';

/** What one send pass did, and what is left. */
export interface SendResult {
  /** Records accepted by the hub. */
  pushed: number;
  /** Entries accepted by the hub. */
  sent: number;
  /** Entries dropped (permanent error or max attempts). */
  dropped: number;
  /** The last failure's reason, if any request failed. */
  lastError: string | undefined;
  /** Entries still queued. */
  remaining: number;
  /** When the next send can happen (the earliest sendable entry, see sendableAt, or the end of another process's lease); undefined when the queue is empty. */
  nextAttemptAt: string | undefined;
}

/** One claimed entry in this pass: its requests in flight and the failures they brought back. */
export interface Sending {
  entry: PushEntry;
  body: string;
  /** Requests for it still in flight. */
  inFlight: number;
  /** The marks' `wave` when its latest request was sent. */
  wave: number;
  failures: PushResult[];
  /** Booked (or being booked): later answers of its copies are ignored. */
  settled: boolean;
}

/** One request in flight (an entry has one per copy). */
export interface Request {
  sending: Sending;
  result?: PushResult;
}

/** What the next transaction books: one entry and the answer that decided it. */
export interface Outcome {
  sending: Sending;
  result: PushResult;
}

/** What a pass learns from its answers and acts on: progress, a pause, the marks it last read. */
export interface SendBook {
  /** Something was pushed or dropped since the snapshot was taken: take another at its end. */
  progressed: boolean;
  /** A retryable failure with no success after it: send nothing new. */
  failing: boolean;
  marks: SyncMarks;
}

/**
 * Turns arrived answers into bookings, in arrival order: an entry is pushed by the first copy
 * the hub accepts, and has failed once every copy failed (one attempt however many copies).
 * An acceptance shows the hub is healthy and lets sends resume; a retryable failure pauses them.
 */
export function decide(arrived: Request[], inflight: Set<Request>, book: SendBook): Outcome[] {
  const outcomes: Outcome[] = [];
  for (const request of arrived) {
    inflight.delete(request);
    const { sending } = request;
    const response = request.result;
    if (response === undefined) continue;
    sending.inFlight -= 1;
    // A copy answering after its entry was booked says nothing new about this wave.
    if (sending.settled) continue;
    if (response.ok) {
      book.failing = false;
      sending.settled = true;
      outcomes.push({ sending, result: response });
      continue;
    }
    if (response.retryable && !response.aborted) book.failing = true;
    sending.failures.push(response);
    if (sending.inFlight > 0) continue;
    sending.settled = true;
    outcomes.push({ sending, result: worstFailure(sending.failures) });
  }
  return outcomes;
}

/** Adds one booked entry to the pass's result and state: progress, the latest push time, or a pause. */
export function count(result: SendResult, settled: Settled, book: SendBook, deps: SyncDeps): void {
  switch (settled.kind) {
    case 'pushed':
      result.pushed += settled.records;
      result.sent += 1;
      book.progressed = true;
      book.marks = {
        ...book.marks,
        last_push_at: isoUtc(deps.clock.now()),
        hold_until: undefined,
      };
      return;
    case 'dropped':
      result.dropped += 1;
      result.lastError = settled.reason;
      book.progressed = true;
      deps.logger.warn(
        { entry: settled.id, attempts: settled.attempts, reason: settled.reason },
        'sync entry dropped; `agentic sync retry-dropped` requeues it',
      );
      return;
    case 'retry':
      result.lastError = settled.reason;
      book.failing = true;
      return;
    case 'released':
      return;
  }
}

/**
 * True when the entry's last request failed and the hub has accepted no push since: the hub has
 * given no sign of health for it, so its next wave may as well use the whole window.
 */
export function unanswered(entry: PushEntry, marks: SyncMarks): boolean {
  // A hub that asked for a pause (Retry-After) gets one request, not several.
  if (entry.attempts === 0 || entry.failed_at === undefined || entry.throttled === true)
    return false;
  return marks.last_push_at === undefined || marks.last_push_at < entry.failed_at;
}

/** The failure an entry is booked with when every copy failed: a permanent one, else the longest Retry-After, else the last. */
export function worstFailure(failures: PushResult[]): PushResult {
  let worst = failures[failures.length - 1];
  for (const f of failures) {
    if (f.ok || worst === undefined || worst.ok) continue;
    if (f.aborted || !f.retryable) return f;
    if ((f.retryAfterMs ?? -1) > (worst.retryAfterMs ?? -1)) worst = f;
  }
  if (worst === undefined) throw new Error('an entry was booked without an answer');
  return worst;
}
