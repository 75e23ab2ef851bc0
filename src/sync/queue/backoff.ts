/** The sync retry schedule (README: Sync) in ms: 1 s → 5 s → 15 s → 60 s → 5 min (the cap). */
export const BACKOFF_SCHEDULE_MS: readonly number[] = [1_000, 5_000, 15_000, 60_000, 300_000];

/** Jitter applied to scheduled delays: ±20 %, so a fleet that failed together does not retry together. */
export const BACKOFF_JITTER = 0.2;

/** The longest `Retry-After` honoured (1 h); a larger value is clamped so a bad header cannot park the queue for days. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The delay after the `attempts`-th failed attempt (1-based): the schedule step, capped at 5 min,
 * scaled by ±20 % jitter from `random` (a value in [0, 1); 0.5 gives the exact step). 0 for attempts ≤ 0.
 */
export function backoffDelay(attempts: number, random: () => number = Math.random): number {
  if (attempts <= 0) return 0;
  const step = BACKOFF_SCHEDULE_MS[Math.min(attempts, BACKOFF_SCHEDULE_MS.length) - 1] ?? 300_000;
  const factor = 1 + (random() * 2 - 1) * BACKOFF_JITTER;
  return Math.round(step * factor);
}

/**
 * Parses a `Retry-After` header (delay seconds, or an HTTP date relative to `now`) into ms,
 * clamped to [0, 1 h]; undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now.getTime();
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
