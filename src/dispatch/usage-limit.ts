/** One hour: the back-off when an agent reports a usage limit without saying when it resets. */
export const DEFAULT_USAGE_BACKOFF_MS = 60 * 60 * 1000;

const CLAUDE_EPOCH = /usage limit reached\|(\d{9,13})/i;
const CLAUDE_RESETS =
  /limit reached\s*[∙·•|-]?\s*resets\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?/i;
const CODEX = /you['’]ve hit your usage limit/i;
const GEMINI =
  /(quota exceeded|resource[_ ]exhausted|rate limit(?:ed| exceeded)|\b429\b.*(too many requests|quota|rate))/i;
const RETRY_IN =
  /(?:try again|retry) in\s+(\d+(?:\.\d+)?)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|days?)\b/i;

/**
 * Looks for a usage or rate limit message in an agent's output (Claude's
 * "usage limit reached|<epoch>" and "… limit reached ∙ resets 3pm", Codex's "You've hit your
 * usage limit", Gemini quota / 429 messages) and returns when the limit resets: the stated
 * time, else one hour from `now`. Undefined when the output shows no such limit.
 * A bare "resets 3pm" is read in this machine's local time zone, as the CLIs print it.
 */
export function detectUsageLimit(output: string, now: Date): Date | undefined {
  const epoch = CLAUDE_EPOCH.exec(output);
  if (epoch?.[1]) {
    const n = Number(epoch[1]);
    const at = new Date(n > 1e12 ? n : n * 1000);
    return at > now ? at : new Date(now.getTime() + DEFAULT_USAGE_BACKOFF_MS);
  }
  const resets = CLAUDE_RESETS.exec(output);
  if (resets?.[1])
    return nextClockTime(now, Number(resets[1]), Number(resets[2] ?? 0), resets[3]?.toLowerCase());
  if (!CODEX.test(output) && !GEMINI.test(output) && !/usage limit reached/i.test(output))
    return undefined;
  const retry = RETRY_IN.exec(output);
  if (retry?.[1] && retry[2])
    return new Date(now.getTime() + durationMs(Number(retry[1]), retry[2]));
  return new Date(now.getTime() + DEFAULT_USAGE_BACKOFF_MS);
}

function durationMs(n: number, unit: string): number {
  const u = unit.toLowerCase();
  if (u.startsWith('d')) return n * 86_400_000;
  if (u.startsWith('h')) return n * 3_600_000;
  if (u.startsWith('m')) return n * 60_000;
  return n * 1000;
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
