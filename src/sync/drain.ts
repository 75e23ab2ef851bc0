import { isoUtc } from '../lib/clock.js';
import type { HubClient, PushResult } from './client.js';
import type { SyncDeps } from './deps.js';
import { nextSendAt, sendableAt } from './gate.js';
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

/** Requests one process keeps in flight at most. */
export const PUSH_WINDOW = 4;

/**
 * Sends queued entries oldest first, one request per entry and up to `window` (default: the
 * service's, 4) in flight, while they are sendable (their own back-off and the queue-wide hold, see
 * sendableAt; `force` ignores both). A retryable failure stops new sends until a later success
 * shows the hub is healthy again; entries leased by another live process are skipped. Booking
 * one entry and leasing the next share a commit while the other requests in flight keep the hub
 * busy, so the hub's work and ours overlap. Offline, nothing is sent. The queue.json/ledger.json mirrors are
 * written once at the end. Never throws for hub errors; store errors propagate.
 */
export async function drainPass(
  deps: SyncDeps,
  options: { force?: boolean; signal?: AbortSignal | undefined; window?: number } = {},
): Promise<DrainResult> {
  const result: DrainResult = {
    pushed: 0,
    sent: 0,
    dropped: 0,
    lastError: undefined,
    remaining: 0,
    nextAttemptAt: undefined,
  };
  let touched = false;
  if (deps.client !== undefined) {
    const pass = new Pass(deps, deps.client, {
      force: options.force === true,
      signal: options.signal,
      window: Math.max(1, options.window ?? deps.window),
    });
    await pass.run(result);
    touched = pass.touched;
  }
  const now = deps.clock.now();
  await deps.runner.run(
    async (tx) => {
      const heads = await tx.queueHeads();
      result.remaining = heads.length;
      const withLeases = [];
      for (const head of heads) withLeases.push({ ...head, lease: await tx.getLease(head.id) });
      result.nextAttemptAt = nextSendAt(withLeases, await tx.marks(), deps.owner, now);
    },
    touched ? 'all' : 'defer',
  );
  return result;
}

interface InFlight {
  entry: QueueEntry;
  body: string;
  response: Promise<PushResult>;
}

/** One drain pass: walks queue snapshots oldest first, keeping up to `window` requests in flight. */
class Pass {
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
  private readonly inflight: InFlight[] = [];
  /** Ids sent in this pass and not settled yet (in `inflight` or being settled). */
  private readonly unsettled = new Set<string>();

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
      for (let head = this.inflight.shift(); head !== undefined; head = this.inflight.shift()) {
        const response = await head.response;
        if (response.ok) this.failing = false;
        const sent = head;
        // Booking this entry and leasing the next ones share one commit; the other requests in
        // flight keep the hub busy meanwhile.
        const next = await this.deps.runner.run(async (tx) => {
          const settled = await settleEntry(tx, sent.entry, response, {
            now: this.deps.clock.now(),
            maxAttempts: this.deps.settings.maxAttempts,
            random: this.deps.random,
            payloadSize: Buffer.byteLength(sent.body),
          });
          this.unsettled.delete(sent.entry.id);
          this.count(result, settled);
          return this.claim(tx);
        }, 'defer');
        this.send(next);
      }
    } catch (err) {
      // Store trouble: stop the requests still out; their leases expire on their own.
      this.abort.abort();
      await Promise.all(this.inflight.map((f) => f.response));
      throw err;
    } finally {
      this.options.signal?.removeEventListener('abort', onAbort);
    }
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

  private send(entries: QueueEntry[]): void {
    for (const entry of entries) {
      const body = pushBody(entry);
      this.inflight.push({
        entry,
        body,
        response: this.client.push(body, entry.id, this.abort.signal),
      });
    }
  }

  /** Leases sendable entries, oldest first, until the window is full or sends are paused. */
  private async claim(tx: SyncTx): Promise<QueueEntry[]> {
    const { deps } = this;
    const claimed: QueueEntry[] = [];
    while (
      this.inflight.length + claimed.length < this.options.window &&
      !this.failing &&
      !this.abort.signal.aborted
    ) {
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
      const result = await claimEntry(tx, id, {
        owner: deps.owner,
        now,
        leaseMs: deps.leaseMs,
        force: this.options.force,
      });
      if (result.kind !== 'claimed') continue;
      this.touched = true;
      this.unsettled.add(id);
      claimed.push(result.entry);
    }
    return claimed;
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
