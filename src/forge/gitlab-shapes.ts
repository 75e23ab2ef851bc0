import { z } from 'zod';
import { combineChecks } from './checks.js';
import type { Check, ChecksReport, PullRequest } from './types.js';

/** The fields of a GitLab merge request we read. */
export const mrSchema = z.looseObject({
  iid: z.number().int(),
  web_url: z.string(),
  state: z.string(),
  draft: z.boolean().nullish(),
  title: z.string(),
  description: z.string().nullish(),
  source_branch: z.string(),
  target_branch: z.string(),
  sha: z.string().nullish(),
  has_conflicts: z.boolean().nullish(),
  detailed_merge_status: z.string().nullish(),
  merge_commit_sha: z.string().nullish(),
  squash_commit_sha: z.string().nullish(),
  rebase_in_progress: z.boolean().nullish(),
  merge_error: z.string().nullish(),
});

/** The fields of a GitLab pipeline we read. */
export const pipelineSchema = z.looseObject({
  id: z.number().int(),
  status: z.string(),
  web_url: z.string().nullish(),
});

/** The fields of a GitLab job we read. */
export const jobSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  stage: z.string().nullish(),
  status: z.string(),
  web_url: z.string().nullish(),
  allow_failure: z.boolean().nullish(),
  failure_reason: z.string().nullish(),
});

/** Pipeline and job statuses that mean CI has not finished. */
export const PENDING_STATUSES = new Set([
  'created',
  'waiting_for_resource',
  'preparing',
  'pending',
  'running',
  'scheduled',
]);

/** A GitLab merge request as a PullRequest; `detailed_merge_status` decides mergeability. */
export function toPull(mr: z.infer<typeof mrSchema>): PullRequest {
  const state = mr.state === 'merged' ? 'merged' : mr.state === 'opened' ? 'open' : 'closed';
  const detailed = mr.detailed_merge_status ?? undefined;
  const unknown = detailed === undefined || detailed === 'checking' || detailed === 'unchecked';
  return {
    number: mr.iid,
    url: mr.web_url,
    state,
    draft: mr.draft === true,
    title: mr.title,
    body: mr.description ?? '',
    head: mr.source_branch,
    headSha: mr.sha ?? '',
    base: mr.target_branch,
    mergeable: state !== 'open' ? false : unknown ? undefined : detailed === 'mergeable',
    conflict: mr.has_conflicts ?? (detailed === 'conflict' ? true : undefined),
  };
}

/** GitLab job statuses; a failure allowed to fail and manual jobs do not block. */
export function jobState(job: z.infer<typeof jobSchema>): Check['state'] {
  if (job.status === 'failed') return job.allow_failure === true ? 'success' : 'failure';
  if (job.status === 'canceled') return 'failure';
  if (PENDING_STATUSES.has(job.status)) return 'pending';
  return 'success';
}

/** The pipeline's own status decides where it is final; otherwise its jobs do. */
export function pipelineState(status: string, checks: readonly Check[]): ChecksReport['state'] {
  if (status === 'failed' || status === 'canceled') return 'failure';
  if (status === 'success') return 'success';
  if (PENDING_STATUSES.has(status)) return 'pending';
  const combined = combineChecks(checks);
  return combined === 'none' ? 'success' : combined;
}
