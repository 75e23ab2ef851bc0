import { isoUtc } from '../lib/clock.js';
import type { HubClient, PushResult } from './client.js';
import type { SyncDeps } from './deps.js';
import { sendableAt } from './gate.js';
import { claimEntry, pushBody, settleEntry, type Settled } from './queue.js';
import type { QueueEntry, SyncMarks } from './schema.js';
import type { SyncTx } from './tx.js';

/** What one drain pass did, and what is left. */
export interface DrainResult {
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
interface Sending {
  entry: QueueEntry;
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
interface Request {
  sending: Sending;
  result?: PushResult;
}

/** What the next transaction books: one entry and the answer that decided it. */
interface Outcome {
  sending: Sending;
  result: PushResult;
}

/** One drain pass: walks queue snapshots oldest first, keeping up to `window` requests in flight. */
export class Pass {
  touched = false;
  private readonly abort = new AbortController();
  private ids: string[] = [];
  private next = 0;
  private marks: SyncMarks = {};
  private heads = new Map<
    string,
    { next_attempt: string; failed_at?: string | undefined; throttled?: boolean | undefined }
  >();
  /** Something was pushed or dropped since the snapshot was taken: take another at its end. */
  private progressed = false;
  /** A retryable failure with no success after it: send nothing new. */
  private failing = false;
  private readonly inflight = new Set<Request>();
  /** Answers that arrived and are not booked yet, in arrival order. */
  private readonly arrived: Request[] = [];
  private wakeUp: (() => void) | undefined;
  /** Entries claimed in this pass and not booked yet, by id. */
  private readonly unsettled = new Map<string, Sending>();

  constructor(
    private readonly deps: SyncDeps,
    private readonly client: HubClient,
    private readonly options: { force: boolean; signal: AbortSignal | undefined; window: number },
  ) {}

  async run(result: DrainResult): Promise<void> {
    const onAbort = (): void => this.abort.abort();
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    if (this.options.signal?.aborted) this.abort.abort();
    try {
      this.send(
        await this.deps.runner.run(async (tx) => {
          await this.snapshot(tx);
          return this.claim(tx);
        }, 'defer'),
      );
      while (this.inflight.size > 0) {
        await this.answers();
        const outcomes = this.decide(this.arrived.splice(0));
        // Everything that arrived meanwhile is booked in one commit, which also leases the next
        // entries; the requests still in flight keep the hub busy during it.
        const next = await this.deps.runner.run(async (tx) => {
          for (const { sending, result: response } of outcomes) {
            const settled = await settleEntry(tx, sending.entry, response, {
              now: this.deps.clock.now(),
              maxAttempts: this.deps.settings.maxAttempts,
              random: this.deps.random,
              payloadSize: Buffer.byteLength(sending.body),
              owner: this.deps.owner,
              sentWave: sending.wave,
            });
            this.unsettled.delete(sending.entry.id);
            this.count(result, settled);
          }
          return this.claim(tx);
        }, 'defer');
        this.send(next);
      }
    } catch (err) {
      // Store trouble: stop the requests still out; their leases expire on their own.
      this.abort.abort();
      while (this.inflight.size > 0) {
        await this.answers();
        for (const request of this.arrived.splice(0)) this.inflight.delete(request);
      }
      throw err;
    } finally {
      this.options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Resolves once at least one answer has arrived. */
  private answers(): Promise<void> {
    if (this.arrived.length > 0) return Promise.resolve();
    return new Promise((resolve) => (this.wakeUp = resolve));
  }

  /**
   * Turns arrived answers into bookings, in arrival order: an entry is pushed by the first copy
   * the hub accepts, and has failed once every copy failed (one attempt however many copies).
   * An acceptance shows the hub is healthy and lets sends resume; a retryable failure pauses them.
   */
  private decide(arrived: Request[]): Outcome[] {
    const outcomes: Outcome[] = [];
    for (const request of arrived) {
      this.inflight.delete(request);
      const { sending } = request;
      const response = request.result;
      if (response === undefined) continue;
      sending.inFlight -= 1;
      // A copy answering after its entry was booked says nothing new about this wave.
      if (sending.settled) continue;
      if (response.ok) {
        this.failing = false;
        sending.settled = true;
        outcomes.push({ sending, result: response });
        continue;
      }
      if (response.retryable && !response.aborted) this.failing = true;
      sending.failures.push(response);
      if (sending.inFlight > 0) continue;
      sending.settled = true;
      outcomes.push({ sending, result: worstFailure(sending.failures) });
    }
    return outcomes;
  }

  private count(result: DrainResult, settled: Settled): void {
    switch (settled.kind) {
      case 'pushed':
        result.pushed += settled.records;
        result.sent += 1;
        this.progressed = true;
        this.marks = {
          ...this.marks,
          last_push_at: isoUtc(this.deps.clock.now()),
          hold_until: undefined,
        };
        return;
      case 'dropped':
        result.dropped += 1;
        result.lastError = settled.reason;
        this.progressed = true;
        this.deps.logger.warn(
          { entry: settled.id, attempts: settled.attempts, reason: settled.reason },
          'sync entry dropped; `agentic sync retry-dropped` requeues it',
        );
        return;
      case 'retry':
        result.lastError = settled.reason;
        this.failing = true;
        return;
      case 'released':
        return;
    }
  }

  /** Sends one request per element (an entry appears once per copy). */
  private send(requests: Sending[]): void {
    for (const sending of requests) {
      sending.inFlight += 1;
      const request: Request = { sending };
      this.inflight.add(request);
      const arrive = (response: PushResult): void => {
        request.result = response;
        this.arrived.push(request);
        const wake = this.wakeUp;
        this.wakeUp = undefined;
        wake?.();
      };
      this.client.push(sending.body, sending.entry.id, this.abort.signal).then(arrive, (err) =>
        arrive({
          ok: false,
          retryable: true,
          status: undefined,
          reason: err instanceof Error ? err.message : String(err),
          retryAfterMs: undefined,
          aborted: this.abort.signal.aborted,
        }),
      );
    }
  }

  /**
   * Leases sendable entries, oldest first, until the window is full or sends are paused; then
   * fills free places with copies (see hedge). Every request to send is stamped with the
   * current wave.
   */
  private async claim(tx: SyncTx): Promise<Sending[]> {
    const { deps } = this;
    const out: Sending[] = [];
    if (this.failing || this.abort.signal.aborted) return out;
    const marks = await tx.marks();
    const wave = marks.wave ?? 0;
    while (this.inflight.size + out.length < this.options.window && !this.failing) {
      if (this.next >= this.ids.length) {
        // Entries queued meanwhile, or made sendable by a success, are in the next snapshot.
        if (!this.progressed) break;
        await this.snapshot(tx);
        if (this.ids.length === 0) break;
      }
      const id = this.ids[this.next++] ?? '';
      const now = deps.clock.now();
      const head = this.heads.get(id);
      // Skip what the snapshot already shows is not sendable yet.
      if (
        !this.options.force &&
        head !== undefined &&
        sendableAt({ id, ...head }, this.marks) > isoUtc(now)
      )
        continue;
      const claimed = await claimEntry(tx, id, {
        owner: deps.owner,
        now,
        leaseMs: deps.leaseMs,
        force: this.options.force,
      });
      if (claimed.kind !== 'claimed') continue;
      this.touched = true;
      const sending: Sending = {
        entry: claimed.entry,
        body: pushBody(claimed.entry),
        inFlight: 0,
        wave,
        failures: [],
        settled: false,
      };
      this.unsettled.set(id, sending);
      out.push(sending);
    }
    await this.hedge(tx, out, marks, wave);
    return out;
  }

  /**
   * Copies for free places in the window, in the drain loop (a forced push ignores the back-off,
   * so copies would buy it nothing): entries in flight or just claimed whose last request failed
   * with nothing accepted since, fewest copies first. Their leases are renewed so every copy
   * runs inside one.
   */
  private async hedge(tx: SyncTx, out: Sending[], marks: SyncMarks, wave: number): Promise<void> {
    const free = this.options.window - this.inflight.size - out.length;
    if (free <= 0 || this.options.force) return;
    const { owner } = this.deps;
    const copies = new Map<Sending, number>();
    for (const sending of this.unsettled.values()) {
      if (sending.settled || !unanswered(sending.entry, marks)) continue;
      // Only under our own lease: another process may have taken over an expired one.
      if ((await tx.getLease(sending.entry.id))?.owner !== owner) continue;
      copies.set(sending, sending.inFlight);
    }
    if (copies.size === 0) return;
    for (const sending of out) if (copies.has(sending)) copies.set(sending, 1);
    const until = isoUtc(new Date(this.deps.clock.now().getTime() + this.deps.leaseMs));
    for (const sending of copies.keys()) await tx.setLease(sending.entry.id, { owner, until });
    for (let i = 0; i < free; i++) {
      let fewest: Sending | undefined;
      for (const [sending, n] of copies)
        if (fewest === undefined || n < (copies.get(fewest) ?? 0)) fewest = sending;
      if (fewest === undefined) break;
      copies.set(fewest, (copies.get(fewest) ?? 0) + 1);
      fewest.wave = wave;
      out.push(fewest);
    }
  }

  private async snapshot(tx: SyncTx): Promise<void> {
    const heads = await tx.queueHeads();
    this.ids = heads.map((h) => h.id).filter((id) => !this.unsettled.has(id));
    this.heads = new Map(heads.map((h) => [h.id, h]));
    this.marks = await tx.marks();
    this.next = 0;
    this.progressed = false;
  }
}

/**
 * True when the entry's last request failed and the hub has accepted no push since: the hub has
 * given no sign of health for it, so its next wave may as well use the whole window.
 */
function unanswered(entry: QueueEntry, marks: SyncMarks): boolean {
  // A hub that asked for a pause (Retry-After) gets one request, not several.
  if (entry.attempts === 0 || entry.failed_at === undefined || entry.throttled === true)
    return false;
  return marks.last_push_at === undefined || marks.last_push_at < entry.failed_at;
}

/** The failure an entry is booked with when every copy failed: a permanent one, else the longest Retry-After, else the last. */
function worstFailure(failures: PushResult[]): PushResult {
  let worst = failures[failures.length - 1];
  for (const f of failures) {
    if (f.ok || worst === undefined || worst.ok) continue;
    if (f.aborted || !f.retryable) return f;
    if ((f.retryAfterMs ?? -1) > (worst.retryAfterMs ?? -1)) worst = f;
  }
  if (worst === undefined) throw new Error('an entry was booked without an answer');
  return worst;
}
