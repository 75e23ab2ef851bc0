import type { HubClient, PushResult } from './client.js';
import type { SyncDeps } from './deps.js';
import { claimEntry, leasedByOther, pushBody, settleEntry, type Settled } from './queue.js';
import type { QueueEntry } from './schema.js';
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
  /** When the next send can happen: the first entry's `next_attempt` (entries go in order), or an earlier end of another process's lease; undefined when the queue is empty. */
  nextAttemptAt: string | undefined;
}

/**
 * Sends queued entries oldest first, one request per entry, until the queue is empty, the next
 * entry is still backing off (unless `force`), a request fails retryably (the hub is sick: the
 * rest wait for the back-off), or `signal` aborts. Entries leased by another live process are
 * skipped. While one request is in flight the next entry is already leased, and once the hub
 * accepts an entry the next request goes out before that entry's bookkeeping transaction, so
 * the hub's work and ours overlap. Offline, nothing is sent. The queue.json/ledger.json mirrors
 * are written once at the end. Never throws for hub errors; store errors propagate.
 */
export async function drainPass(
  deps: SyncDeps,
  options: { force?: boolean; signal?: AbortSignal | undefined } = {},
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
    const pass = new Pass(deps, deps.client, options.force === true, options.signal);
    try {
      await pass.run(result);
    } finally {
      await pass.close();
    }
    touched = pass.touched;
  }
  const now = deps.clock.now();
  await deps.runner.run(
    async (tx) => {
      const ids = await tx.queueIds();
      result.remaining = ids.length;
      // Entries go in order, so the first one not leased elsewhere decides when the next send can happen.
      for (const id of ids) {
        const lease = await tx.getLease(id);
        const other = leasedByOther(lease, deps.owner, now);
        const at = other ? (lease?.until ?? '') : ((await tx.getQueue(id))?.next_attempt ?? '');
        if (at !== '' && (result.nextAttemptAt === undefined || at < result.nextAttemptAt))
          result.nextAttemptAt = at;
        if (!other) break;
      }
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

/** One drain pass: walks queue snapshots, keeping one request in flight and the next entry leased. */
class Pass {
  touched = false;
  private readonly abort = new AbortController();
  private readonly onAbort = (): void => this.abort.abort();
  private ids: string[] = [];
  private next = 0;
  /** The head is backing off, or the pass was aborted: no more claims. */
  private stopped = false;
  /** Leased but not sent yet. */
  private ahead: QueueEntry | undefined;

  constructor(
    private readonly deps: SyncDeps,
    private readonly client: HubClient,
    private readonly force: boolean,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted) this.abort.abort();
  }

  async run(result: DrainResult): Promise<void> {
    for (;;) {
      this.ids = await this.deps.runner.run((tx) => tx.queueIds(), 'defer');
      this.next = 0;
      let progressed = false;
      let current = await this.launch();
      while (current !== undefined) {
        this.ahead ??= await this.claimNext();
        const response = await current.response;
        const following = response.ok ? this.launch() : undefined;
        // Booking this entry and leasing the one after the request now in flight share one commit.
        const settled = await this.settle(current, response, following !== undefined);
        if (settled.kind === 'pushed') {
          result.pushed += settled.records;
          result.sent += 1;
          progressed = true;
          current = await following;
          continue;
        }
        if (settled.kind === 'released') return;
        result.lastError = settled.reason;
        if (settled.kind === 'retry') return;
        result.dropped += 1;
        progressed = true;
        this.deps.logger.warn(
          { entry: settled.id, attempts: settled.attempts, reason: settled.reason },
          'sync entry dropped; `agentic sync retry-dropped` requeues it',
        );
        current = await this.launch();
      }
      if (this.stopped || !progressed) return;
    }
  }

  /** Releases an entry leased ahead but never sent, so other processes need not wait for the lease to expire. */
  async close(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead !== undefined) await this.deps.runner.run((tx) => tx.clearLease(ahead.id), 'defer');
  }

  /** Sends the entry leased ahead, or claims and sends the next one. */
  private async launch(): Promise<InFlight | undefined> {
    const entry = this.ahead ?? (await this.claimNext());
    this.ahead = undefined;
    if (entry === undefined) return undefined;
    const body = pushBody(entry);
    return { entry, body, response: this.client.push(body, entry.id, this.abort.signal) };
  }

  private claimNext(): Promise<QueueEntry | undefined> {
    return this.deps.runner.run((tx) => this.claimIn(tx), 'defer');
  }

  /** Leases the next sendable entry of the snapshot inside `tx`; sets `stopped` when the head is backing off. */
  private async claimIn(tx: SyncTx): Promise<QueueEntry | undefined> {
    const { deps } = this;
    while (!this.stopped && this.next < this.ids.length) {
      if (this.abort.signal.aborted) {
        this.stopped = true;
        break;
      }
      const claim = await claimEntry(tx, this.ids[this.next++] ?? '', {
        owner: deps.owner,
        now: deps.clock.now(),
        leaseMs: deps.leaseMs,
        force: this.force,
      });
      if (claim.kind === 'gone' || claim.kind === 'leased') continue;
      if (claim.kind === 'waiting') {
        this.stopped = true;
        break;
      }
      this.touched = true;
      return claim.entry;
    }
    return undefined;
  }

  private settle(sent: InFlight, response: PushResult, claimAhead: boolean): Promise<Settled> {
    const { deps } = this;
    return deps.runner.run(async (tx) => {
      const settled = await settleEntry(tx, sent.entry, response, {
        now: deps.clock.now(),
        maxAttempts: deps.settings.maxAttempts,
        random: deps.random,
        payloadSize: Buffer.byteLength(sent.body),
      });
      if (claimAhead && settled.kind === 'pushed' && this.ahead === undefined)
        this.ahead = await this.claimIn(tx);
      return settled;
    }, 'defer');
  }
}
