import type { AppContext } from '../context.js';
import type { Check, ChecksState, ForgeDeps, PullRequestState } from '../forge/index.js';
import { readRecord } from '../lifecycle/index.js';
import { AgenticError } from '../lib/errors.js';
import { forgeFor } from './pull-request.js';
import { handbackTarget } from './target.js';

/** A workspace's pull request as its forge sees it now, with the CI verdict on its head. */
export interface PullRequestStatus {
  workspace: string;
  pr_url: string;
  pr_number: number;
  state: PullRequestState;
  draft: boolean;
  title: string;
  head: string;
  base: string;
  /** undefined while the forge is still computing it or does not say. */
  mergeable: boolean | null;
  checks: { state: ChecksState; checks: Check[] };
  /** Why the last delivery of the workspace failed (its question), or null when it did not. */
  delivery_error: string | null;
}

const FAILED = 'delivery failed: ';

/**
 * Asks the workspace's forge about the pull request it was delivered as, and about the checks
 * of that pull request's head commit (the branch when the forge does not name the commit).
 * A later delivery that failed (a re-delivery refused by the forge) is reported with it. Throws
 * WORKSPACE_NOT_FOUND, STATE_CONFLICT when it has no pull request (saying why a delivery failed,
 * when one did), or FORGE_*.
 */
export async function pullRequestStatus(
  ctx: AppContext,
  name: string,
  deps?: ForgeDeps,
): Promise<PullRequestStatus> {
  const record = await readRecord(ctx, name);
  if (!record)
    throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
      field: 'workspace',
    });
  const failed = record.question?.startsWith(FAILED)
    ? record.question.slice(FAILED.length)
    : undefined;
  if (record.pr_number === undefined)
    throw new AgenticError(
      'STATE_CONFLICT',
      failed === undefined
        ? `${name} has no pull request; open one with \`agentic accept ${name} --pr\``
        : `${name} has no pull request: its delivery failed: ${failed}\nNothing is lost; once that is fixed, run \`agentic accept ${name} --pr\``,
      { field: 'workspace' },
    );
  const forge = await forgeFor(ctx, handbackTarget(ctx, name, record), deps);
  const pr = await forge.getPullRequest(record.pr_number);
  const report = await forge.getChecks(pr.headSha !== '' ? pr.headSha : pr.head);
  return {
    workspace: name,
    pr_url: pr.url,
    pr_number: pr.number,
    state: pr.state,
    draft: pr.draft,
    title: pr.title,
    head: pr.head,
    base: pr.base,
    mergeable: pr.mergeable ?? null,
    checks: { state: report.state, checks: [...report.checks] },
    delivery_error: failed ?? null,
  };
}
