import type { AppContext } from '../context.js';
import { AgenticError } from '../lib/errors.js';
import { STORE_RETRY } from '../lib/retry.js';
import type { StateStore } from '../store/index.js';

/**
 * Opens the store, trying again with back-off (1 s doubling to 15 s) for as long as it is
 * unavailable (STORE_UNAVAILABLE: the fleet database does not answer), logging each failure.
 * A daemon under a supervisor is expected to keep trying rather than exit: it never gives up
 * by itself. Resolves the store and whether it had to wait, or undefined when `stop` settles
 * first; other errors (a schema newer than
 * this build, an invalid URL) are thrown at once.
 */
export async function waitForStore(
  ctx: AppContext,
  stop: Promise<void>,
  retry: { firstMs: number; maxMs: number } = STORE_RETRY,
): Promise<{ store: StateStore; waited: boolean } | undefined> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  let delay = retry.firstMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const store = await ctx.store();
      if (attempt > 1)
        ctx.logger.info({ attempts: attempt }, 'state store answered; the daemon starts now');
      return { store, waited: attempt > 1 };
    } catch (err) {
      if (!(err instanceof AgenticError && err.code === 'STORE_UNAVAILABLE')) throw err;
      ctx.logger.warn(
        { err: err.message, attempt, retry_in_ms: delay },
        'state store unreachable; not starting degraded, retrying',
      );
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stop, new Promise((r) => (timer = setTimeout(r, delay)))]);
    clearTimeout(timer);
    if (stopped) return undefined;
    delay = Math.min(delay * 2, retry.maxMs);
  }
}
