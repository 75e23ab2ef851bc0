import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { deliverSettingsFor } from '../config/index.js';
import { commitWorkspace } from '../lifecycle/commit.js';
import { readAllRecords, readRecord, recordInTx, trackInTransaction } from '../lifecycle/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { runGit } from '../lib/git.js';
import {
  workspaceDir,
  type Changes,
  type Delivered,
  type StatusRecord,
} from '../workspace/index.js';
import { beginChecksWait } from './checks-wait.js';
import { deliverBranch, mergeIntoBase } from './handback.js';
import { harvest, resolveIdentity } from './harvest.js';
import { deliverPullRequest } from './pull-request.js';
import { handbackTarget } from './target.js';

/** One workspace awaiting a human: work to review, or a question to answer. */
export interface ReviewRow {
  workspace: string;
  status: StatusRecord['status'];
  task: string;
  agent: string;
  branch: string;
  base_ref: string | null;
  changes: Changes | null;
  qa_passed: boolean | null;
  qa_summary: string | null;
  new_findings: number;
  question: string | null;
  /** The pull request of an earlier delivery, when there is one. */
  pr_url: string | null;
  updated_at: string;
}

/**
 * Every workspace waiting for a human, oldest first: completed (or QA-failed) work with
 * commits not delivered yet, and blocked workspaces with their question.
 */
export async function reviewList(ctx: AppContext): Promise<ReviewRow[]> {
  const rows: ReviewRow[] = [];
  for (const [name, r] of await readAllRecords(ctx)) {
    if (!awaitsReview(r)) continue;
    rows.push({
      workspace: name,
      status: r.status,
      task: r.task,
      agent: r.agent,
      branch: r.branch,
      base_ref: r.base_ref ?? null,
      changes: r.changes ?? null,
      qa_passed: r.qa?.passed ?? null,
      qa_summary: r.qa?.summary_text ?? null,
      new_findings: r.qa?.new_findings ?? 0,
      question: r.question ?? null,
      pr_url: r.pr_url ?? null,
      updated_at: r.updated_at,
    });
  }
  return rows.sort((a, b) => a.updated_at.localeCompare(b.updated_at));
}

/**
 * True for blocked workspaces, for finished work with commits that were not delivered, and for
 * pull requests agentic would not merge (`needs review: …`).
 */
export function awaitsReview(r: StatusRecord): boolean {
  if (r.status === 'blocked') return true;
  if (r.status !== 'completed' && r.status !== 'failed') return false;
  if (r.closeout === 'pending') return false;
  if (r.question?.startsWith('needs review:') === true) return true;
  return (r.changes?.commits ?? 0) > 0 && r.delivered === undefined;
}

/** Where a finished workspace's work stands, for status lists: being checked, awaiting review, delivered. */
export function deliveryState(
  r: StatusRecord,
): 'checking' | 'awaiting review' | 'delivered' | undefined {
  if (r.closeout === 'pending') return 'checking';
  if (r.status !== 'blocked' && awaitsReview(r)) return 'awaiting review';
  if (r.delivered !== undefined) return 'delivered';
  return undefined;
}

/** The diff of a workspace's work against its base: `stat` for a summary, `color` for a terminal. */
export async function workspaceDiff(
  ctx: AppContext,
  name: string,
  options: { stat?: boolean; color?: boolean } = {},
): Promise<string> {
  const record = await requireRecord(ctx, name);
  const target = handbackTarget(ctx, name, record);
  if (!existsSync(join(target.repoDir, '.git')))
    throw new AgenticError('STATE_CONFLICT', `${name} has no clone (yet): nothing to diff`, {
      field: 'workspace',
    });
  const base = record.base_sha ?? record.base_ref;
  if (base === undefined)
    throw new AgenticError('STATE_CONFLICT', `${name} has not started yet: its base is unknown`, {
      field: 'workspace',
    });
  const args = [
    'diff',
    options.color ? '--color=always' : '--no-color',
    ...(options.stat ? ['--stat'] : []),
    base,
    `refs/heads/${record.branch}`,
    '--',
  ];
  return runGit(args, target.repoDir, ctx.config.childEnv, 'IO_FAILED');
}

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
    const current = await recordInTx(ctx, tx, name);
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

/** Questions an earlier delivery left that a new accept answers. */
function isDeliveryOutcome(question: string): boolean {
  return question.startsWith('delivery failed:') || question.startsWith('needs review:');
}

/**
 * Ends a finished or blocked workspace `cancelled` with the reviewer's reason; its clone and
 * branch stay until cleaned. Throws STATE_CONFLICT for work still queued or running.
 */
export async function rejectWorkspace(
  ctx: AppContext,
  name: string,
  reason: string | undefined,
): Promise<StatusRecord> {
  await requireRecord(ctx, name);
  const next = await trackInTransaction(ctx, async (track, tx) => {
    const current = await recordInTx(ctx, tx, name);
    if (!current) throw notFound(name);
    const { closeout: _c, checks_wait: _w, ...rest } = current;
    return track(name, {
      ...rest,
      status: nextStatus(current.status, 'reject'),
      question: `rejected${reason ? `: ${reason}` : ''}`,
    });
  });
  if (!next) throw new AgenticError('INTERNAL', 'reject produced no record');
  await commitWorkspace(ctx, name);
  return next;
}

/** Why a workspace must not be deleted, or undefined when deleting it loses nothing. */
export async function keepReason(
  ctx: AppContext,
  name: string,
  record: StatusRecord,
): Promise<string | undefined> {
  if (!['completed', 'failed', 'merged', 'cancelled'].includes(record.status))
    return `${record.status}`;
  if (record.closeout === 'pending') return 'closeout pending';
  const repoDir = join(workspaceDir(ctx.config.workspaceRoot, name), 'repo');
  if (!existsSync(join(repoDir, '.git'))) return undefined;
  const git = (args: string[]): Promise<string> =>
    runGit(args, repoDir, ctx.config.childEnv, 'IO_FAILED');
  const dirty = (await git(['status', '--porcelain', '--untracked-files=all'])) !== '';
  if (dirty) return 'uncommitted changes';
  if (record.status === 'merged') return undefined;
  // Commits on the agent branch that neither the base, the delivered commit nor any remote
  // branch of the clone holds exist nowhere else.
  const exclude = [record.base_sha, record.delivered?.sha].filter(
    (s): s is string => s !== undefined,
  );
  const count = await git([
    'rev-list',
    '--count',
    `refs/heads/${record.branch}`,
    '--not',
    '--remotes',
    ...exclude,
  ]).catch(() => '0');
  const n = Number(count) || 0;
  return n > 0 ? `${n} undelivered commit(s)` : undefined;
}

async function requireRecord(ctx: AppContext, name: string): Promise<StatusRecord> {
  const record = await readRecord(ctx, name);
  if (!record) throw notFound(name);
  return record;
}

function notFound(name: string): AgenticError {
  return new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
    field: 'workspace',
  });
}
