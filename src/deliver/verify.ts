import type { AppContext } from '../context.js';
import { deliverSettingsFor, type VerifySettings } from '../config/index.js';
import { forgeErrorDetail, type Check, type Forge } from '../forge/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { toAgenticError } from '../lib/errors.js';
import type { ChecksWait, StatusRecord } from '../workspace/index.js';
import {
  beginChecksWait,
  ciFixAnswer,
  endWait,
  needsReviewComment,
  pollAt,
  pollLater,
} from './checks-wait.js';
import { fixRound } from './fix-round.js';
import { forgeFor } from './pull-request.js';
import { rebaseOntoBase } from './rebase.js';
import { handbackTarget } from './target.js';

/** The label a pull request gets when agentic gives up merging it. */
export const NEEDS_REVIEW_LABEL = 'needs-review';

/** One poll's working set: the workspace, its wait, its forge and settings. */
interface Poll {
  ctx: AppContext;
  name: string;
  record: StatusRecord;
  wait: ChecksWait;
  forge: Forge;
  number: number;
  verify: VerifySettings;
}

/**
 * One step of the checks wait of `deliver.mode: merge`: asks the forge about the pull request
 * and the checks of the awaited commit, and returns the next record. Still running → the same
 * wait, polled later (back-off), until the deadline → needs review. Green (or, with
 * `require_checks: false` and no checks at all, a passed local QA) → merged and the remote
 * branch deleted. Red → a CI fix round while `deliver.fix_rounds` allow, else one rebase onto
 * the fresh base and a new wait, else needs review: label, comment, question. A rate limit only
 * moves the next poll (to its retry time), an unreachable forge too until the deadline; any
 * other forge error ends the wait with the cause as question (retry with `accept --merge-pr`).
 */
export async function pollChecks(
  ctx: AppContext,
  name: string,
  record: StatusRecord,
): Promise<StatusRecord> {
  const wait = record.checks_wait;
  if (wait === undefined) return record;
  if (record.pr_number === undefined)
    return { ...endWait(record), question: 'needs review: no pull request was recorded' };
  const verify = deliverSettingsFor(ctx.config.file, `${record.org}/${record.repo}`).verify;
  let forge: Forge;
  try {
    forge = await forgeFor(ctx, handbackTarget(ctx, name, record));
  } catch (err) {
    return { ...endWait(record), question: `delivery failed: ${toAgenticError(err).message}` };
  }
  const poll: Poll = { ctx, name, record, wait, forge, number: record.pr_number, verify };
  try {
    return await step(poll);
  } catch (err) {
    const retryAt = forgeErrorDetail(err)?.retryAt;
    const { code, message } = toAgenticError(err);
    // A rate limit only ever postpones; an unreachable forge is retried until the deadline.
    const transient =
      code === 'FORGE_RATE_LIMITED' ||
      (code === 'FORGE_UNAVAILABLE' && ctx.clock.now().getTime() < Date.parse(wait.deadline));
    if (transient) {
      ctx.logger.info(
        { workspace: name, code, retry_at: retryAt ? isoUtc(retryAt) : undefined },
        'forge busy: next checks poll postponed',
      );
      return retryAt !== undefined
        ? pollAt(record, wait, retryAt)
        : pollLater(ctx, record, wait, verify);
    }
    return { ...endWait(record), question: `delivery failed: ${message}` };
  }
}

async function step(p: Poll): Promise<StatusRecord> {
  const now = p.ctx.clock.now().getTime();
  const pr = await p.forge.getPullRequest(p.number);
  if (pr.state === 'merged') return mergedRecord(p, undefined);
  if (pr.state === 'closed')
    return {
      ...endWait(p.record),
      question: `needs review: pull request #${p.number} was closed without merging`,
    };
  const report = await p.forge.getChecks(p.wait.sha);
  // Forges register check runs a little after a push: an empty list is "not yet" for a while.
  const appearing = report.state === 'none' && now < Date.parse(p.wait.since) + p.verify.appearMs;
  const state = appearing ? 'pending' : report.state;
  if (state === 'pending') {
    if (now < Date.parse(p.wait.deadline)) return pollLater(p.ctx, p.record, p.wait, p.verify);
    const minutes = p.verify.checksTimeoutMinutes;
    return needsReview(
      p,
      `checks did not finish within ${minutes} minute${minutes === 1 ? '' : 's'}`,
      [],
    );
  }
  if (state === 'none') {
    if (p.verify.requireChecks) return needsReview(p, 'no checks configured on the remote', []);
    if (p.record.qa?.passed !== true)
      return needsReview(p, 'no checks configured on the remote and no passing local QA', []);
    return mergeNow(p);
  }
  if (state === 'failure') {
    const failing = report.checks.filter((c) => c.state === 'failure');
    return onRed(p, `checks failed: ${failing.map((c) => c.name).join(', ')}`, failing);
  }
  if (pr.conflict === true) return onRed(p, `conflicts with ${pr.base}`, []);
  return mergeNow(p);
}

async function mergeNow(p: Poll): Promise<StatusRecord> {
  try {
    const result = await p.forge.merge(p.number, p.verify.mergeMethod);
    return await mergedRecord(p, result.sha);
  } catch (err) {
    const detail = forgeErrorDetail(err);
    if (detail?.prState === 'merged') return mergedRecord(p, undefined);
    if (toAgenticError(err).code === 'FORGE_CONFLICT')
      return onRed(p, `cannot be merged: ${toAgenticError(err).message}`, []);
    throw err;
  }
}

/** Merged: status `merged`, and only now is the pull request's branch deleted on the remote. */
async function mergedRecord(p: Poll, sha: string | undefined): Promise<StatusRecord> {
  let note: string | undefined;
  try {
    await p.forge.deleteBranch(p.record.branch);
  } catch (err) {
    note = `merged, but the branch ${p.record.branch} could not be deleted: ${toAgenticError(err).message}`;
  }
  const base = p.record.base_ref ?? '';
  return {
    ...endWait(p.record),
    status: nextStatus(p.record.status, 'merge'),
    delivered: {
      mode: 'merge',
      ref: `refs/heads/${base}`,
      sha: sha ?? p.wait.sha,
      at: isoUtc(p.ctx.clock.now()),
    },
    ...(note !== undefined ? { question: note } : {}),
  };
}

/**
 * Red checks or a conflict: a CI fix round while they last (red checks only), else one rebase
 * onto the fresh base and a new wait, else needs review.
 */
async function onRed(p: Poll, reason: string, failing: readonly Check[]): Promise<StatusRecord> {
  const target = handbackTarget(p.ctx, p.name, p.record);
  if (failing.length > 0 && (p.record.ci_round ?? 0) < p.verify.fixRounds) {
    const answer = ciFixAnswer(p.record.pr_url, p.wait.sha, failing);
    return fixRound(p.ctx, endWait(p.record), target.repoDir, answer, 'ci_round');
  }
  if (!p.wait.rebased) {
    const settings = deliverSettingsFor(p.ctx.config.file, `${p.record.org}/${p.record.repo}`);
    const rebased = await rebaseOntoBase(p.ctx, target, p.record, settings.identity);
    if (rebased.conflict)
      return needsReview(
        p,
        `${reason}; rebasing onto ${p.record.base_ref ?? 'the base'} conflicts`,
        failing,
      );
    if (rebased.sha !== p.wait.sha) {
      const moved: StatusRecord = {
        ...p.record,
        ...(p.record.delivered
          ? {
              delivered: { ...p.record.delivered, sha: rebased.sha, at: isoUtc(p.ctx.clock.now()) },
            }
          : {}),
      };
      return beginChecksWait(p.ctx, moved, rebased.sha, p.verify, true);
    }
  }
  return needsReview(p, reason, failing);
}

/** Gives up merging: label `needs-review`, a comment saying why, and the reason as the workspace's question. */
async function needsReview(
  p: Poll,
  reason: string,
  failing: readonly Check[],
): Promise<StatusRecord> {
  const notes: string[] = [];
  const tryForge = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      // A rate limit postpones the whole step (label and comment are retried with it).
      if (forgeErrorDetail(err)?.retryAt !== undefined) throw err;
      notes.push(`${what} failed: ${toAgenticError(err).message}`);
    }
  };
  await tryForge('labelling', () => p.forge.addLabel(p.number, NEEDS_REVIEW_LABEL));
  await tryForge('commenting', () =>
    p.forge.comment(p.number, needsReviewComment(reason, failing)),
  );
  return {
    ...endWait(p.record),
    question: `needs review: ${reason}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`,
  };
}
