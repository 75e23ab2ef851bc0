/** One hour: the back-off when an agent reports a usage limit (quota) without saying when it resets. */
export const DEFAULT_USAGE_BACKOFF_MS = 60 * 60 * 1000;
/** One minute: the back-off when an agent reports a rate limit without saying when to retry. */
export const DEFAULT_RATE_BACKOFF_MS = 60 * 1000;
/** A limit that resets within this is a rate limit (seconds, minutes); a later one is a quota. */
const RATE_LIMIT_MAX_MS = 15 * 60 * 1000;

/** A usage or rate limit an agent CLI reported: which kind, and when to try again. */
export interface UsageLimit {
  /** `rate`: a short per-minute limit; `quota`: a usage or billing quota, hours away. */
  kind: 'rate' | 'quota';
  resetAt: Date;
  /** False when the CLI gave no time and the default back-off applies. */
  stated: boolean;
}

const QUOTA_WORDS =
  /(usage limit|hit your (?:usage )?limit|quota|resource[_ ]exhausted|insufficient_quota|billing details|out of credits)/i;
const RATE_WORDS = /(rate[_ ]limit|too many requests|\b429\b|overloaded)/i;

const CLAUDE_EPOCH = /usage limit reached\|(\d{9,13})/i;
const CLOCK =
  /(?:resets?|try again|retry)\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b|(?:resets?|try again|retry)\s+at\s+(\d{1,2}):(\d{2})\b/i;
const ISO =
  /(?:resets?|try again|retry)(?:\s+(?:at|after))?\s+(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)/i;
/** Codex past a day: "try again at Dec 8th, 2026 12:24 AM". */
const DATED =
  /(?:resets?|try again|retry)\s+(?:at|on)\s+([A-Z][a-z]{2,8}\.?\s+\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4}),?\s+(\d{1,2}:\d{2}(?:\s*[AP]M)?)/i;
const COMPACT =
  /(?:try again|retry|retrying|resets?)\s+(?:in|after)\s+((?:\d+(?:\.\d+)?[dhms]\s*){1,4})(?![a-z])/i;
const WORDS =
  /(?:try again|retry|retrying|resets?)\s+(?:in|after)\s+((?:\d+(?:\.\d+)?\s*(?:days?|hours?|hrs?|minutes?|mins?|seconds?|secs?)(?:,?\s*(?:and\s+)?)?){1,4})/i;
const RETRY_DELAY = /retryDelay['"]?\s*[:=]\s*['"]?(\d+(?:\.\d+)?)s/i;

/**
 * Looks for a usage or rate limit in what an agent CLI itself said (its error events and error
 * lines, never a tool's output) and returns the kind and when it resets: Claude's
 * "usage limit reached|<epoch>" and "… resets 3pm", Codex's "You've hit your usage limit … try
 * again at 11:40 PM", OpenAI's "You exceeded your current quota", Gemini's RESOURCE_EXHAUSTED
 * with "Please retry in 12300s", durations like `20h13m4s` or "5 minutes", ISO timestamps.
 * A stated time under 15 minutes away is a rate limit, a later one a quota; with no time, the
 * words decide (one minute for a rate limit, one hour for a quota). A bare clock time ("3pm") is
 * read in this machine's local time zone, as the CLIs print it. Undefined when there is no limit.
 */
export function detectUsageLimit(output: string, now: Date): UsageLimit | undefined {
  const quota = QUOTA_WORDS.test(output);
  const rate = RATE_WORDS.test(output);
  if (!quota && !rate) return undefined;
  const at = statedReset(output, now);
  // A reset already past (a clock skew, a stale message) says nothing about when to retry.
  if (at !== undefined && at > now) {
    const kind = at.getTime() - now.getTime() <= RATE_LIMIT_MAX_MS ? 'rate' : 'quota';
    return { kind, resetAt: at, stated: true };
  }
  return quota
    ? { kind: 'quota', resetAt: new Date(now.getTime() + DEFAULT_USAGE_BACKOFF_MS), stated: false }
    : { kind: 'rate', resetAt: new Date(now.getTime() + DEFAULT_RATE_BACKOFF_MS), stated: false };
}

function statedReset(output: string, now: Date): Date | undefined {
  const epoch = CLAUDE_EPOCH.exec(output);
  if (epoch?.[1]) {
    const n = Number(epoch[1]);
    return new Date(n > 1e12 ? n : n * 1000);
  }
  const iso = ISO.exec(output);
  if (iso?.[1]) {
    const t = Date.parse(iso[1].replace(' ', 'T'));
    if (!Number.isNaN(t)) return new Date(t);
  }
  const dated = DATED.exec(output);
  if (dated?.[1] && dated[2] && dated[3]) {
    const t = Date.parse(`${dated[1]} ${dated[2]} ${dated[3]}`);
    if (!Number.isNaN(t)) return new Date(t);
  }
  const compact = COMPACT.exec(output);
  if (compact?.[1]) return new Date(now.getTime() + compactMs(compact[1]));
  const words = WORDS.exec(output);
  if (words?.[1]) return new Date(now.getTime() + wordsMs(words[1]));
  const delay = RETRY_DELAY.exec(output);
  if (delay?.[1]) return new Date(now.getTime() + Number(delay[1]) * 1000);
  const clock = CLOCK.exec(output);
  if (clock) {
    const meridiem = clock[3]?.toLowerCase();
    const hour = Number(clock[1] ?? clock[4]);
    const minute = Number(clock[2] ?? clock[5] ?? 0);
    return nextClockTime(now, hour, minute, meridiem);
  }
  return undefined;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
};

/** `20h13m4s`, `12300s`, `1.5s` → milliseconds. */
function compactMs(text: string): number {
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)([dhms])/gi))
    ms += Number(m[1]) * (UNIT_MS[(m[2] ?? 's').toLowerCase()] ?? 1000);
  return ms;
}

/** `2 hours 5 minutes`, `30 seconds` → milliseconds. */
function wordsMs(text: string): number {
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/gi))
    ms += Number(m[1]) * (UNIT_MS[(m[2] ?? 's').charAt(0).toLowerCase()] ?? 1000);
  return ms;
}

function nextClockTime(
  now: Date,
  hour12or24: number,
  minute: number,
  meridiem: string | undefined,
): Date {
  let hour = hour12or24 % 24;
  if (meridiem === 'pm' && hour < 12) hour += 12;
  if (meridiem === 'am' && hour === 12) hour = 0;
  const at = new Date(now);
  at.setHours(hour, minute, 0, 0);
  if (at <= now) at.setDate(at.getDate() + 1);
  return at;
}
