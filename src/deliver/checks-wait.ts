import type { AppContext } from '../context.js';
import type { VerifySettings } from '../config/index.js';
import type { Check } from '../forge/index.js';
import { isoUtc } from '../lib/clock.js';
import type { ChecksWait, StatusRecord } from '../workspace/index.js';

/** Most characters of one check's summary quoted in a fix answer or a comment. */
const SUMMARY_CHARS = 1500;

/**
 * The record that starts waiting for the checks of `sha` on its pull request: the closeout
 * stays pending and the wait (deadline, next poll, interval) is written on the record itself,
 * so a runner that dies meanwhile resumes the same wait from the store.
 */
export function beginChecksWait(
  ctx: AppContext,
  record: StatusRecord,
  sha: string,
  verify: VerifySettings,
  rebased = false,
): StatusRecord {
  const now = ctx.clock.now().getTime();
  const { question: _q, ...rest } = record;
  return {
    ...rest,
    closeout: 'pending',
    checks_wait: {
      sha,
      since: isoUtc(new Date(now)),
      deadline: isoUtc(new Date(now + verify.checksTimeoutMinutes * 60_000)),
      next_poll_at: isoUtc(new Date(now + verify.pollFirstMs)),
      interval_ms: Math.round(verify.pollFirstMs),
      rebased,
    },
  };
}

/** Milliseconds until the record's checks wait asks the forge again; 0 when due or when nothing is awaited. */
export function checksWaitDueIn(record: StatusRecord, now: Date): number {
  const at = record.checks_wait?.next_poll_at;
  if (at === undefined) return 0;
  return Math.max(0, Date.parse(at) - now.getTime());
}

/** The same wait, polled again after the next back-off step (doubling, capped). */
export function pollLater(
  ctx: AppContext,
  record: StatusRecord,
  wait: ChecksWait,
  verify: VerifySettings,
): StatusRecord {
  const interval = Math.min(Math.max(wait.interval_ms * 2, 1), verify.pollMaxMs);
  return {
    ...record,
    checks_wait: {
      ...wait,
      interval_ms: Math.round(interval),
      next_poll_at: isoUtc(new Date(ctx.clock.now().getTime() + interval)),
    },
  };
}

/** The same wait, polled again at `at` (a rate limit's retry time); the back-off is kept. */
export function pollAt(record: StatusRecord, wait: ChecksWait, at: Date): StatusRecord {
  return { ...record, checks_wait: { ...wait, next_poll_at: isoUtc(at) } };
}

/** The record with the wait and the pending closeout gone (the outcome is decided). */
export function endWait(record: StatusRecord): StatusRecord {
  const { closeout: _c, checks_wait: _w, question: _q, ...rest } = record;
  return rest;
}

function checkLine(c: Check): string {
  const summary = c.summary?.trim();
  const cut =
    summary !== undefined && summary.length > SUMMARY_CHARS
      ? `${summary.slice(0, SUMMARY_CHARS)}…`
      : summary;
  return [`- ${c.name}${c.url ? ` (${c.url})` : ''}`, ...(cut ? [indent(cut)] : [])].join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** What a CI fix round tells the agent: which checks failed on its pull request, with what the forge said. */
export function ciFixAnswer(
  prUrl: string | undefined,
  sha: string,
  failing: readonly Check[],
): string {
  return [
    `The CI checks of your pull request${prUrl ? ` (${prUrl})` : ''} failed on commit ${sha.slice(0, 12)}.`,
    '',
    'Failing checks:',
    ...failing.map(checkLine),
    '',
    'Fix the cause on this branch and commit; the pull request is updated and its checks are awaited again.',
  ].join('\n');
}

/** The comment left on a pull request that was not merged: why, and the failing checks. */
export function needsReviewComment(reason: string, failing: readonly Check[]): string {
  return [
    `agentic did not merge this pull request: ${reason}.`,
    ...(failing.length > 0 ? ['', 'Failing checks:', ...failing.map(checkLine)] : []),
    '',
    'It is labelled `needs-review`; the work is kept for a person to look at.',
  ].join('\n');
}
