import type { SyncDeps } from './deps.js';
import { claimEntry, leasedByOther, pushBody, settleEntry } from './queue.js';

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
 * skipped. Offline, nothing is sent. The queue.json/ledger.json mirrors are written once at the
 * end. Never throws for hub errors; store errors propagate.
 */
export async function drainPass(
  deps: SyncDeps,
  options: { force?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<DrainResult> {
  const { runner, client, clock } = deps;
  const result: DrainResult = {
    pushed: 0,
    sent: 0,
    dropped: 0,
    lastError: undefined,
    remaining: 0,
    nextAttemptAt: undefined,
  };
  let touched = false;
  if (client !== undefined) {
    let progressed = true;
    outer: while (progressed) {
      progressed = false;
      const ids = await runner.run(async (tx) => (await tx.listQueue()).map((e) => e.id), 'defer');
      for (const id of ids) {
        if (options.signal?.aborted) break outer;
        const claim = await runner.run(
          (tx) =>
            claimEntry(tx, id, {
              owner: deps.owner,
              now: clock.now(),
              leaseMs: deps.leaseMs,
              force: options.force === true,
            }),
          'defer',
        );
        if (claim.kind === 'gone' || claim.kind === 'leased') continue;
        if (claim.kind === 'waiting') break outer;
        touched = true;
        const body = pushBody(claim.entry);
        const response = await client.push(body, claim.entry.id, options.signal);
        const settled = await runner.run(
          (tx) =>
            settleEntry(tx, claim.entry, response, {
              now: clock.now(),
              maxAttempts: deps.settings.maxAttempts,
              random: deps.random,
              payloadSize: Buffer.byteLength(body),
            }),
          'defer',
        );
        if (settled.kind === 'pushed') {
          result.pushed += settled.records;
          result.sent += 1;
          progressed = true;
          continue;
        }
        if (settled.kind === 'released') break outer;
        result.lastError = settled.reason;
        if (settled.kind === 'retry') break outer;
        result.dropped += 1;
        deps.logger.warn(
          { entry: id, attempts: settled.attempts, reason: settled.reason },
          'sync entry dropped; `agentic sync retry-dropped` requeues it',
        );
        progressed = true;
      }
    }
  }
  const now = clock.now();
  await runner.run(
    async (tx) => {
      const queue = await tx.listQueue();
      result.remaining = queue.length;
      // Entries go in order, so the first one not leased elsewhere decides when the next send can happen.
      for (const entry of queue) {
        const other = leasedByOther(entry, deps.owner, now);
        const at = other ? (entry.lease_until ?? entry.next_attempt) : entry.next_attempt;
        if (result.nextAttemptAt === undefined || at < result.nextAttemptAt)
          result.nextAttemptAt = at;
        if (!other) break;
      }
    },
    touched ? 'all' : 'defer',
  );
  return result;
}
