import { toAgenticError } from './errors.js';
import type { Logger } from './logger.js';

/** First and longest pause between two attempts at a store write or open that failed, in ms. */
export const STORE_RETRY = { firstMs: 1_000, maxMs: 15_000 } as const;

/** How {@link retryUntilDone} paces itself and reports. */
export interface RetryOptions {
  /** First pause in ms, doubled after each failure up to `maxMs` (default {@link STORE_RETRY}). */
  firstMs?: number;
  maxMs?: number;
  /** Checked before each attempt: true gives up (the owner is closing). */
  stopped(): boolean;
  /** Told of every failure and the pause before the next attempt. */
  onError(err: unknown, retryInMs: number, attempt: number): void;
}

/**
 * Runs `fn` until it resolves, pausing with doubling back-off after each failure; never gives
 * up by itself, so `fn` must be safe to run again (it re-reads what it writes). Resolves true
 * once `fn` succeeded, false when `stopped()` turned true first. The pauses do not keep the
 * process alive.
 */
export async function retryUntilDone(
  fn: () => Promise<void>,
  options: RetryOptions,
): Promise<boolean> {
  const maxMs = options.maxMs ?? STORE_RETRY.maxMs;
  let delay = options.firstMs ?? STORE_RETRY.firstMs;
  for (let attempt = 1; ; attempt++) {
    if (options.stopped()) return false;
    try {
      await fn();
      return true;
    } catch (err) {
      if (options.stopped()) return false;
      options.onError(err, delay, attempt);
    }
    await new Promise((resolve) => setTimeout(resolve, delay).unref());
    delay = Math.min(delay * 2, maxMs);
  }
}

/**
 * The usual `onError` of {@link retryUntilDone}: one warning per failure, "could not <what>;
 * retrying", with `fields` (e.g. the workspace), the error, the attempt and the next pause.
 */
export function warnEachRetry(
  logger: Logger,
  what: string,
  fields: Record<string, unknown>,
): RetryOptions['onError'] {
  return (err, retryInMs, attempt) =>
    logger.warn(
      { ...fields, err: toAgenticError(err).message, attempt, retry_in_ms: retryInMs },
      `could not ${what}; retrying`,
    );
}
