/** A source of the current time; injected so tests can control it. */
export interface Clock {
  now(): Date;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/** Formats a date as RFC 3339 UTC with milliseconds (`2026-11-22T03:11:43.123Z`). */
export function isoUtc(date: Date): string {
  return date.toISOString();
}

/** Formats a date as a compact UTC stamp for file names: `yyyymmddThhmmssZ`. */
export function compactUtc(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}
