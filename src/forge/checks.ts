import type { Check, ChecksState } from './types.js';

/** The combined verdict of several checks: any failure fails, else any pending waits, else success; none → `none`. */
export function combineChecks(checks: readonly Check[]): ChecksState {
  if (checks.length === 0) return 'none';
  if (checks.some((c) => c.state === 'failure')) return 'failure';
  if (checks.some((c) => c.state === 'pending')) return 'pending';
  return 'success';
}

/** Most characters of a log excerpt handed back to an agent. */
export const EXCERPT_MAX_CHARS = 4000;

/**
 * The end of a CI log, where the failure usually is: the last `maxLines` lines, terminal colour
 * codes and GitLab's collapsible-section markers removed, at most EXCERPT_MAX_CHARS characters.
 */
export function logExcerpt(text: string, maxLines = 40): string {
  const clean = text
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
    .replace(/section_(start|end):\d+:[^\r\n]*?\r?(?=\n|$)/g, '')
    .replace(/\r(?!\n)/g, '\n');
  const lines = clean.split('\n').filter((l) => l.trim() !== '');
  const tail = lines.slice(-maxLines).join('\n').trim();
  return tail.length > EXCERPT_MAX_CHARS ? tail.slice(-EXCERPT_MAX_CHARS) : tail;
}

/** An optional property that is left out rather than set to undefined (exactOptionalPropertyTypes). */
export function optional<K extends string, V>(
  key: K,
  value: V | undefined | null,
): { [P in K]?: V } {
  return (value === undefined || value === null || value === '' ? {} : { [key]: value }) as {
    [P in K]?: V;
  };
}
