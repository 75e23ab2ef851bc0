import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { deliverSettingsFor } from '../config/index.js';
import { commitWorkspace } from '../lifecycle/commit.js';
import { recordInTx, trackInTransaction } from '../lifecycle/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import type { Delivered, StatusRecord } from '../workspace/index.js';
import { beginChecksWait } from './checks-wait.js';
import { deliverBranch, mergeIntoBase } from './handback.js';
import { harvest, resolveIdentity } from './harvest.js';
import { deliverPullRequest } from './pull-request.js';
import { isDeliveryOutcome } from './review-state.js';
import { requireRecord } from './review.js';
import { handbackTarget } from './target.js';

/** What `accept` did. */
export interface Accepted {
  record: StatusRecord;
  /** True when leftover changes were committed first. */
  harvested: boolean;
  merged: boolean;
}

/**
 * Delivers a finished workspace as a branch into its source (see deliverBranch), or with `pr`
 * as a pull request on its forge whatever deliver.mode says (see deliverPullRequest; a recorded
 * pull request merged or closed meanwhile is succeeded by a new one), and, with
 * `merge` (branch only), merges it into the base branch when that is safe (see mergeIntoBase), setting status
 * `merged`. With `verify` (`--merge-pr`) it opens or updates the pull request and starts the
 * durable checks wait of `deliver.mode: merge` on the record (see driveChecksWait). Leftover uncommitted changes are harvested first. The new record is journaled.
 * Throws STATE_CONFLICT when there is nothing to accept, DELIVERY_FAILED when the source
 * refuses (nothing is lost; fix the cause and accept again).
 */
export async function acceptWorkspace(
  ctx: AppContext,
  name: string,
  options: { merge?: boolean; pr?: boolean; verify?: boolean } = {},
): Promise<Accepted> {
  const record = await requireRecord(ctx, name);
  if (record.status === 'merged') return { record, harvested: false, merged: true };
  if (
    record.closeout === 'pending' ||
    (record.status !== 'completed' && record.status !== 'failed')
  )
    throw new AgenticError(
      'STATE_CONFLICT',
      record.closeout === 'pending'
        ? `${name} is still being checked; accept it once its closeout ends`
        : `${name} is ${record.status}; only completed or failed work can be accepted${record.status === 'blocked' ? ' (answer it with `agentic resume`)' : ''}`,
      { field: 'workspace' },
    );
  const target = handbackTarget(ctx, name, record);
  if (!existsSync(join(target.repoDir, '.git')) || record.base_sha === undefined)
    throw new AgenticError('STATE_CONFLICT', `${name} has no clone or base: nothing to accept`, {
      field: 'workspace',
    });
  const env = ctx.config.childEnv;
  const settings = deliverSettingsFor(ctx.config.file, `${record.org}/${record.repo}`);
  const identity = () =>
    resolveIdentity(
      settings.identity,
      target.kind === 'local' ? target.location : target.repoDir,
      env,
    );
  const h = await harvest({
    repoDir: target.repoDir,
    branch: record.branch,
    baseSha: record.base_sha,
    task: record.task,
    identity,
    env,
  });
  if (h.changes.commits === 0)
    throw new AgenticError('STATE_CONFLICT', `${name} changed nothing: nothing to accept`, {
      field: 'workspace',
    });
  let delivered: Delivered;
  let pr: { pr_url: string; pr_number: number } | undefined;
  if (options.pr || options.verify) {
    const {
      delivered: d,
      pr_url,
      pr_number,
    } = await deliverPullRequest(ctx, target, record, h.head, h.changes, undefined, {
      // The reviewer asked for it: a merged or closed pull request gets a successor.
      replaceClosed: true,
    });
    delivered = d;
    pr = { pr_url, pr_number };
  } else {
    const handed = await deliverBranch(target, record.branch, h.head);
    delivered = { mode: 'branch', ...handed, at: isoUtc(ctx.clock.now()) };
  }
  let merged = false;
  if (options.merge && !options.pr && !options.verify) {
    const base = record.base_ref;
    if (base === undefined || /^[0-9a-f]{40,64}$/.test(base))
      throw new AgenticError(
        'STATE_CONFLICT',
        `${name} started from a commit, not a branch: there is no base branch to merge into; the work is delivered as branch ${record.branch}`,
        { field: 'workspace' },
      );
    const into = await mergeIntoBase(target, record.branch, h.head, {
      base,
      mergeCommit: settings.mergeCommit,
      identity,
    });
    delivered = { mode: 'merge', ...into, at: isoUtc(ctx.clock.now()) };
    merged = true;
  }
  const next = await trackInTransaction(ctx, async (track, tx) => {
    const current = await recordInTx(tx, name);
    if (current?.status !== record.status || current.runs !== record.runs)
      throw new AgenticError(
        'STATE_CONFLICT',
        `${name} changed while it was being accepted (now ${current?.status ?? 'gone'}); its branch was delivered, run accept again to record it`,
        { field: 'workspace' },
      );
    // A delivery that failed earlier is answered by this one.
    const { question, ...kept } = current;
    const accepted: StatusRecord = {
      ...kept,
      ...(question !== undefined && !isDeliveryOutcome(question) ? { question } : {}),
      changes: h.changes,
      delivered,
      ...pr,
      ...(merged ? { status: nextStatus(current.status, 'merge') } : {}),
    };
    // --merge-pr: the closeout is pending again while the pull request's checks are awaited.
    return track(
      name,
      options.verify ? beginChecksWait(ctx, accepted, delivered.sha, settings.verify) : accepted,
    );
  });
  if (!next) throw new AgenticError('INTERNAL', 'accept produced no record');
  if (next.closeout !== 'pending') await commitWorkspace(ctx, name);
  return { record: next, harvested: h.committed, merged };
}
