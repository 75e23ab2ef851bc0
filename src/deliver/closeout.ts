import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { deliverSettingsFor, qaSettingsFor } from '../config/index.js';
import { recordInTx, trackInTransaction } from '../lifecycle/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { toAgenticError } from '../lib/errors.js';
import { workspaceDir, type StatusRecord } from '../workspace/index.js';
import { beginChecksWait } from './checks-wait.js';
import { fixRound } from './fix-round.js';
import { deliverBranch } from './handback.js';
import { harvest, resolveIdentity } from './harvest.js';
import { deliverPullRequest } from './pull-request.js';
import { checkWork } from './qa-step.js';
import { handbackTarget } from './target.js';
import { pollChecks } from './verify.js';

/** Runs `fn` when a QA slot is free (the runner bounds how many QA runs share the machine). */
export type QaSlot = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * The closeout of a run that ended `completed`: harvest (commit what the agent left, count
 * its changes against the base), QA when enabled (a failure fails the workspace, or resumes the
 * agent with the failure as its answer while `qa.fix_rounds` allow), then the hand-back
 * `deliver.mode` asks for (a branch, a pull request, or a pull request merged once its checks
 * pass: then the closeout stays pending and each later call is one poll of that durable wait,
 * see pollChecks). Each step is idempotent, so a
 * closeout cut short by a crash is simply run again. The outcome is recorded through trackWorkspace only if the record is still
 * the one that was closed out; returns it, or undefined when the record moved on meanwhile.
 * A failed step never loses work: the record stays `completed` with the reason as question.
 */
export async function closeoutRun(
  ctx: AppContext,
  name: string,
  record: StatusRecord,
  qaSlot: QaSlot = (fn) => fn(),
): Promise<StatusRecord | undefined> {
  const step =
    record.checks_wait !== undefined
      ? pollChecks(ctx, name, record)
      : decideCloseout(ctx, name, record, qaSlot);
  const next = await step.catch((err: unknown): StatusRecord => {
    const { closeout: _c, checks_wait: _w, ...rest } = record;
    return { ...rest, question: `closeout failed: ${toAgenticError(err).message}` };
  });
  return trackInTransaction(ctx, async (track, tx) => {
    const current = await recordInTx(tx, name);
    if (
      // `failed` too: `accept --merge-pr` may verify work whose QA failed.
      (current?.status !== 'completed' && current?.status !== 'failed') ||
      current.closeout !== 'pending' ||
      current.runs !== record.runs ||
      // Another process polled this checks wait meanwhile: its outcome stands.
      current.checks_wait?.next_poll_at !== record.checks_wait?.next_poll_at ||
      current.checks_wait?.sha !== record.checks_wait?.sha
    )
      return undefined;
    return (await track(name, next)) ?? undefined;
  });
}

async function decideCloseout(
  ctx: AppContext,
  name: string,
  record: StatusRecord,
  qaSlot: QaSlot,
): Promise<StatusRecord> {
  const { closeout: _c, question: _q, delivered: _d, ...rest } = record;
  const dir = workspaceDir(ctx.config.workspaceRoot, name);
  const target = handbackTarget(ctx, name, record);
  if (!existsSync(join(target.repoDir, '.git')) || record.base_sha === undefined)
    return { ...rest, question: 'nothing to deliver: the clone or its base is unknown' };
  const env = ctx.config.childEnv;
  const orgRepo = `${record.org}/${record.repo}`;
  const delivery = deliverSettingsFor(ctx.config.file, orgRepo);
  const h = await harvest({
    repoDir: target.repoDir,
    branch: record.branch,
    baseSha: record.base_sha,
    task: record.task,
    identity: () =>
      resolveIdentity(
        delivery.identity,
        target.kind === 'local' ? target.location : target.repoDir,
        env,
      ),
    env,
  });
  const done: StatusRecord = { ...rest, changes: h.changes };
  if (h.changes.commits === 0) return done;

  const qa = qaSettingsFor(ctx.config.file, orgRepo);
  if (qa.enabled) {
    const checked = await qaSlot(() => checkWork(ctx, name, dir, target.repoDir, h, qa.checks));
    done.qa = checked.outcome;
    if (!checked.passed) {
      if ((record.qa_round ?? 0) < qa.fixRounds)
        return fixRound(ctx, done, target.repoDir, checked.fixAnswer, 'qa_round');
      return { ...done, status: nextStatus('completed', 'fail'), question: checked.question };
    }
  }

  const mode = record.deliver ?? delivery.mode;
  if (mode === 'branch') {
    try {
      const handed = await deliverBranch(target, record.branch, h.head);
      done.delivered = { mode, ...handed, at: isoUtc(ctx.clock.now()) };
    } catch (err) {
      done.question = `delivery failed: ${toAgenticError(err).message}`;
    }
  } else if (mode === 'pr' || mode === 'merge') {
    try {
      const { created: _created, ...pr } = await deliverPullRequest(
        ctx,
        target,
        done,
        h.head,
        h.changes,
      );
      Object.assign(done, pr);
      // mode merge: the closeout stays pending while the pull request's checks are awaited.
      if (mode === 'merge') return beginChecksWait(ctx, done, h.head, delivery.verify);
    } catch (err) {
      done.question = `delivery failed: ${toAgenticError(err).message}`;
    }
  }
  return done;
}
