import type { SendResult } from './send-once.js';
import type { SyncService } from '../sync-service.js';

/** Waits `ms`, or less when `signal` aborts; never rejects. Injected so tests drive time by hand. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** Default idle interval between passes when nothing is backing off: 60 s. */
export const DEFAULT_IDLE_INTERVAL_MS = 60_000;

/** Options of {@link SendLoop}; all have production defaults. */
export interface SendLoopOptions {
  /** Longest sleep between passes, and how often `dispatch_history` is rescanned (default 60 s). */
  idleIntervalMs?: number;
  /** Default: a real timer that an abort cuts short. */
  sleep?: Sleep;
  /** Called after every pass (observability, tests). */
  onPass?: (result: SendResult) => void;
}

const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * The background sync loop of a long-lived process (the runner). Usage:
 * `const loop = new SendLoop(await createSyncService(ctx)); loop.start();` then
 * `loop.wake()` after every commit that wrote `dispatch_history`, and
 * `await loop.close()` on shutdown BEFORE closing the context's store.
 * Each pass queues pending records (on start, on wake and every idle interval), sends the
 * ready entries oldest first, then sleeps until the earliest `next_attempt` (at most the idle
 * interval) or a wake. It only runs when a token and URL are set; it never throws (errors are
 * logged and retried after the idle interval).
 */
export class SendLoop {
  private readonly idleMs: number;
  private readonly sleep: Sleep;
  private readonly stopping = new AbortController();
  private sleeping: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private woken = false;
  private closed = false;

  constructor(
    private readonly service: SyncService,
    private readonly options: SendLoopOptions = {},
  ) {
    this.idleMs = options.idleIntervalMs ?? DEFAULT_IDLE_INTERVAL_MS;
    this.sleep = options.sleep ?? realSleep;
  }

  /** True once started with a token set and until closed. */
  get running(): boolean {
    return this.loop !== undefined && !this.closed;
  }

  /** Starts the loop; a no-op when offline, already started or closed. */
  start(): void {
    if (this.loop !== undefined || this.closed) return;
    const { settings, logger } = this.service.deps;
    if (!settings.online) {
      logger.info({ reason: settings.offlineReason }, 'sync offline; the drain loop does not run');
      return;
    }
    this.loop = this.run();
  }

  /** Asks for a pass now that rescans `dispatch_history` (call after a commit); cheap and safe at any time. */
  wake(): void {
    this.woken = true;
    this.sleeping?.abort();
  }

  /** Stops the loop: cuts the sleep short, aborts an in-flight request (not counted as an attempt) and waits for the current transaction to finish. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    this.sleeping?.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { clock, logger } = this.service.deps;
    let collect = true;
    while (!this.closed) {
      let wait = this.idleMs;
      try {
        if (collect || this.woken) {
          this.woken = false;
          await this.service.enqueue();
        }
        const result = await this.service.send({ signal: this.stopping.signal });
        this.options.onPass?.(result);
        if (result.nextAttemptAt !== undefined) {
          const until = Date.parse(result.nextAttemptAt) - clock.now().getTime();
          // A floor keeps a pass that could not send anything from spinning.
          const floor = result.sent + result.dropped > 0 ? 0 : 50;
          wait = Math.min(Math.max(until, floor), this.idleMs);
        }
      } catch (err) {
        logger.error({ err }, 'sync drain pass failed; retrying after the idle interval');
      }
      if (this.closed) break;
      if (this.woken) {
        collect = true;
        continue;
      }
      const sleeping = new AbortController();
      this.sleeping = sleeping;
      await this.sleep(wait, sleeping.signal);
      this.sleeping = undefined;
      collect = this.woken || (!sleeping.signal.aborted && wait >= this.idleMs);
    }
  }
}
