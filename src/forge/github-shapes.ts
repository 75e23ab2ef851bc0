import { z } from 'zod';
import { optional } from './checks.js';
import type { Check, PullRequest } from './types.js';

/** The fields of a GitHub pull request we read. */
export const pullSchema = z.looseObject({
  number: z.number().int(),
  html_url: z.string(),
  state: z.string(),
  merged: z.boolean().nullish(),
  merged_at: z.string().nullish(),
  mergeable: z.boolean().nullish(),
  mergeable_state: z.string().nullish(),
  draft: z.boolean().nullish(),
  title: z.string(),
  body: z.string().nullish(),
  head: z.looseObject({ ref: z.string(), sha: z.string() }),
  base: z.looseObject({ ref: z.string() }),
});

/** The fields of a GitHub check run we read. */
export const checkRunSchema = z.looseObject({
  name: z.string(),
  status: z.string(),
  conclusion: z.string().nullish(),
  html_url: z.string().nullish(),
  details_url: z.string().nullish(),
  output: z.looseObject({ title: z.string().nullish(), summary: z.string().nullish() }).nullish(),
});

/** GitHub's combined commit status: the latest status per context. */
export const combinedStatusSchema = z.looseObject({
  statuses: z.array(
    z.looseObject({
      context: z.string(),
      state: z.string(),
      description: z.string().nullish(),
      target_url: z.string().nullish(),
    }),
  ),
});

/** The answer to a GitHub merge. */
export const mergeSchema = z.looseObject({ sha: z.string().nullish() });

/** What an Octokit RequestError carries that we use; never its `request` (auth header inside). */
export const requestErrorSchema = z.looseObject({
  status: z.number(),
  message: z.string(),
  response: z
    .looseObject({ headers: z.record(z.string(), z.unknown()), data: z.unknown() })
    .optional(),
});

/** Check-run conclusions that count as passed; the rest of the completed ones fail. */
const PASSING_CONCLUSIONS = new Set(['success', 'neutral', 'skipped']);

const SUMMARY_MAX = 1000;

/** A GitHub pull request as a PullRequest; `merged` decides over `state`. */
export function toPull(p: z.infer<typeof pullSchema>): PullRequest {
  const merged = p.merged === true || (p.merged_at !== undefined && p.merged_at !== null);
  const state = merged ? 'merged' : p.state === 'open' ? 'open' : 'closed';
  return {
    number: p.number,
    url: p.html_url,
    state,
    draft: p.draft === true,
    title: p.title,
    body: p.body ?? '',
    head: p.head.ref,
    headSha: p.head.sha,
    base: p.base.ref,
    // GitHub computes mergeability in the background: null until it knows.
    mergeable: state === 'open' ? (p.mergeable ?? undefined) : false,
    conflict: p.mergeable_state === 'dirty' ? true : p.mergeable === true ? false : undefined,
  };
}

/** A check run as a Check: not completed → pending; success, neutral and skipped pass; its output title and summary kept. */
export function checkRunToCheck(run: z.infer<typeof checkRunSchema>): Check {
  const state: Check['state'] =
    run.status !== 'completed'
      ? 'pending'
      : PASSING_CONCLUSIONS.has(run.conclusion ?? '')
        ? 'success'
        : 'failure';
  const summary = [run.output?.title, run.output?.summary]
    .filter((s): s is string => typeof s === 'string' && s.trim() !== '')
    .join('\n')
    .slice(0, SUMMARY_MAX);
  return {
    name: run.name,
    state,
    ...optional('url', run.html_url ?? run.details_url),
    ...optional('summary', summary),
  };
}

/** Commit status states: error, failure, pending, success. */
export function statusState(state: string): Check['state'] {
  if (state === 'success') return 'success';
  if (state === 'error' || state === 'failure') return 'failure';
  return 'pending';
}
