// Where a workspace stands towards review and delivery, read from its record (and, for
// keepReason, its clone): nothing here talks to a forge or writes state, so status lists load it
// without the delivery machinery.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { runGit } from '../lib/git.js';
import type { Changes, StatusRecord } from '../workspace/index.js';
import { workspaceDir } from '../workspace/name.js';

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

/** Questions an earlier delivery left that a new accept answers. */
export function isDeliveryOutcome(question: string): boolean {
  return question.startsWith('delivery failed:') || question.startsWith('needs review:');
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
