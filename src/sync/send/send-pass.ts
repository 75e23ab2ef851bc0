import { isoUtc } from '../../lib/clock.js';
import type { HubClient, PushResult } from '../client.js';
import type { SyncDeps } from '../deps.js';
import { sendableAt } from '../queue/gate.js';
import { claimEntry, pushBody, settleEntry } from '../queue/queue.js';
import type { SyncMarks } from '../schema.js';
import type { SyncTx } from '../state/tx.js';
import {
  count,
  decide,
  unanswered,
  type SendBook,
  type SendResult,
  type Sending,
  type Request,
} from './send-book.js';

/** One send pass: walks queue snapshots oldest first, keeping up to `window` requests in flight. */
export class SendPass {
  touched = false;
  private readonly abort = new AbortController();
  private ids: string[] = [];
  private next = 0;
  private readonly book: SendBook = { progressed: false, failing: false, marks: {} };
  private heads = new Map<
    string,
    { next_attempt: string; failed_at?: string | undefined; throttled?: boolean | undefined }
  >();
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

  async run(result: SendResult): Promise<void> {
    const onAbort = (): void => this.abort.abort();
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    if (this.options.signal?.aborted) this.abort.abort();
    try {
      this.send(
        await this.deps.state.run(async (tx) => {
          await this.snapshot(tx);
          return this.claim(tx);
        }, 'defer'),
      );
      while (this.inflight.size > 0) {
        await this.answers();
        const outcomes = decide(this.arrived.splice(0), this.inflight, this.book);
        // Everything that arrived meanwhile is booked in one commit, which also leases the next
        // entries; the requests still in flight keep the hub busy during it.
        const next = await this.deps.state.run(async (tx) => {
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
            count(result, settled, this.book, this.deps);
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
    if (this.book.failing || this.abort.signal.aborted) return out;
    const marks = await tx.marks();
    const wave = marks.wave ?? 0;
    while (this.inflight.size + out.length < this.options.window && !this.book.failing) {
      if (this.next >= this.ids.length) {
        // Entries queued meanwhile, or made sendable by a success, are in the next snapshot.
        if (!this.book.progressed) break;
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
        sendableAt({ id, ...head }, this.book.marks) > isoUtc(now)
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
   * Copies for free places in the window, in the send loop (a forced push ignores the back-off,
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
    this.book.marks = await tx.marks();
    this.next = 0;
    this.book.progressed = false;
  }
}
