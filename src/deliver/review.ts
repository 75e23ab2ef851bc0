import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { commitWorkspace } from '../lifecycle/commit.js';
import { readAllRecords, readRecord, recordInTx, trackInTransaction } from '../lifecycle/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { AgenticError } from '../lib/errors.js';
import { runGit } from '../lib/git.js';
import type { StatusRecord } from '../workspace/index.js';
import { awaitsReview, type ReviewRow } from './review-state.js';
import { handbackTarget } from './target.js';

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
    const current = await recordInTx(tx, name);
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

/** The record of `name`; throws WORKSPACE_NOT_FOUND when there is none. */
export async function requireRecord(ctx: AppContext, name: string): Promise<StatusRecord> {
  const record = await readRecord(ctx, name);
  if (!record) throw notFound(name);
  return record;
}

function notFound(name: string): AgenticError {
  return new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
    field: 'workspace',
  });
}
