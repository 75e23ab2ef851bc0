import type { SyncDeps } from '../deps.js';
import { nextSendAt } from '../queue/gate.js';
import type { SendResult } from './send-book.js';
import { SendPass } from './send-pass.js';

export type { SendResult } from './send-book.js';

/** Requests one process keeps in flight at most. */
export const PUSH_WINDOW = 4;

/**
 * Sends queued entries oldest first, one request per entry and up to `window` (default: the
 * service's, 4) requests in flight, while they are sendable (their own back-off and the
 * queue-wide hold, see sendableAt; `force` ignores both). A retryable failure stops new sends
 * until a later success shows the hub is healthy again; entries leased by another live process
 * are skipped. Unless forced, when fewer entries are sendable than the window holds, entries
 * whose last request failed with no push accepted since fill the free places with copies of
 * their request (same Idempotency-Key, same body; booked once, one attempt), so a wave that
 * probes a failing hub carries as many requests for one last entry as for many. Answers are booked as they
 * arrive, those that arrived together in one commit that also leases the next entries, while
 * the other requests keep the hub busy. Offline, nothing is sent. The queue.json/ledger.json
 * mirrors are written once at the end. Never throws for hub errors; store errors propagate.
 */
export async function sendOnce(
  deps: SyncDeps,
  options: { force?: boolean; signal?: AbortSignal | undefined; window?: number } = {},
): Promise<SendResult> {
  const result: SendResult = {
    pushed: 0,
    sent: 0,
    dropped: 0,
    lastError: undefined,
    remaining: 0,
    nextAttemptAt: undefined,
  };
  let touched = false;
  if (deps.client !== undefined) {
    const pass = new SendPass(deps, deps.client, {
      force: options.force === true,
      signal: options.signal,
      window: Math.max(1, options.window ?? deps.window),
    });
    await pass.run(result);
    touched = pass.touched;
  }
  const now = deps.clock.now();
  await deps.state.run(
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
