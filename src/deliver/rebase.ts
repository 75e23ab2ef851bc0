import type { AppContext } from '../context.js';
import { AgenticError } from '../lib/errors.js';
import { headBranch, runGit } from '../lib/git.js';
import type { StatusRecord } from '../workspace/index.js';
import type { HandbackTarget } from './handback.js';
import { identityEnv, resolveIdentity, type Identity } from './harvest.js';
import { pushWithLease } from './pull-request.js';

/** What rebasing the agent branch gave: its new tip, or a conflict (the rebase was undone). */
export type Rebased = { conflict: false; sha: string } | { conflict: true };

/**
 * Fetches the base branch fresh from `origin`, rebases the agent branch onto it in the
 * workspace clone and pushes the result with `--force-with-lease` (only when the tip changed).
 * A conflicting rebase is aborted, leaving the branch as it was. Throws DELIVERY_FAILED when
 * the clone is not on the agent branch or git fails otherwise.
 */
export async function rebaseOntoBase(
  ctx: AppContext,
  target: HandbackTarget,
  record: Pick<StatusRecord, 'branch' | 'base_ref'>,
  configured: Identity | undefined,
): Promise<Rebased> {
  const base = record.base_ref;
  if (base === undefined)
    throw new AgenticError('DELIVERY_FAILED', 'the base branch is unknown: nothing to rebase onto');
  const git = (args: string[], env = target.env): Promise<string> =>
    runGit(args, target.repoDir, env, 'DELIVERY_FAILED');
  if (headBranch(target.repoDir) !== record.branch)
    throw new AgenticError(
      'DELIVERY_FAILED',
      `the clone ${target.repoDir} is not on ${record.branch}; cannot rebase it`,
    );
  const upstream = `refs/remotes/origin/${base}`;
  await git(['fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${base}:${upstream}`]);
  const before = await git(['rev-parse', 'HEAD']);
  const who = await resolveIdentity(configured, target.repoDir, target.env);
  try {
    await git(['rebase', '--quiet', upstream], { ...target.env, ...identityEnv(who) });
  } catch {
    await git(['rebase', '--abort']).catch(() => undefined);
    ctx.logger.info({ branch: record.branch, base }, 'rebase onto the fresh base conflicts');
    return { conflict: true };
  }
  const sha = await git(['rev-parse', 'HEAD']);
  if (sha !== before) await pushWithLease(target, `refs/heads/${record.branch}`, sha);
  return { conflict: false, sha };
}
