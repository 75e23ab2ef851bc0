import { AgenticError } from '../lib/errors.js';
import { runGit } from '../lib/git.js';
import { identityEnv, type Identity } from './harvest.js';

/** Where a workspace's work goes back to: its source (a local repository or a URL) and its clone. */
export interface HandbackTarget {
  /** `local`: a repository on this machine; `url`: the clone's `origin` remote. */
  kind: 'local' | 'url';
  /** The source path or URL, for messages and (local) git's working directory. */
  location: string;
  repoDir: string;
  env: Readonly<Record<string, string>>;
}

/** Where the work now lives. */
export interface Handed {
  ref: string;
  sha: string;
}

const fail = (message: string, cause?: unknown): never => {
  throw new AgenticError('DELIVERY_FAILED', message, cause === undefined ? {} : { cause });
};

/**
 * Hands the agent branch back under the same name: fetched into a local source repository
 * (its working tree, index and checked-out branch untouched; FETCH_HEAD not written), or
 * pushed to a URL source. Only a fast-forward is taken: a branch of that name holding other
 * commits there is refused, as is the branch checked out in the source. Throws
 * DELIVERY_FAILED saying what to do.
 */
export async function deliverBranch(
  target: HandbackTarget,
  branch: string,
  sha: string,
): Promise<Handed> {
  const ref = `refs/heads/${branch}`;
  try {
    if (target.kind === 'local') {
      await runGit(
        ['fetch', '--no-tags', '--no-write-fetch-head', '--', target.repoDir, `${sha}:${ref}`],
        target.location,
        target.env,
        'DELIVERY_FAILED',
      );
    } else {
      await runGit(
        ['push', '--', 'origin', `${sha}:${ref}`],
        target.repoDir,
        target.env,
        'DELIVERY_FAILED',
      );
    }
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (/checked out|refusing to fetch into/i.test(text))
      fail(
        `branch ${branch} is checked out in ${target.location}; switch that repository to another branch, then run \`agentic accept\` again`,
        err,
      );
    if (/rejected|non-fast-forward|fetch first|\(stale info\)/i.test(text))
      fail(
        `branch ${branch} already exists in ${target.location} with other commits; delete or rename it there (or dispatch with another --branch), then run \`agentic accept\` again`,
        err,
      );
    throw err;
  }
  return { ref, sha };
}

/** How `accept --merge` may merge. */
export interface MergeOptions {
  /** The base branch to merge into. */
  base: string;
  /** Allow a merge commit when a fast-forward is not possible. */
  mergeCommit: boolean;
  identity: () => Promise<Identity>;
}

/**
 * Merges the delivered agent branch into the base branch of the source, only when safe. Local
 * source: base checked out (in any worktree) with a clean working tree → `merge --ff-only`, or
 * a merge commit when allowed; base not checked out → the ref is moved only for a
 * fast-forward, no working tree touched. URL source: a fast-forward push of the base. Throws
 * DELIVERY_FAILED naming why it was refused and what to do instead.
 */
export async function mergeIntoBase(
  target: HandbackTarget,
  branch: string,
  sha: string,
  options: MergeOptions,
): Promise<Handed> {
  const baseRef = `refs/heads/${options.base}`;
  if (target.kind === 'url') {
    try {
      await runGit(
        ['push', '--', 'origin', `${sha}:${baseRef}`],
        target.repoDir,
        target.env,
        'DELIVERY_FAILED',
      );
    } catch (err) {
      fail(
        `${options.base} on ${target.location} has moved on and cannot be fast-forwarded to ${branch}; rebase ${branch} or merge it by hand (a pull request suits this case)`,
        err,
      );
    }
    return { ref: baseRef, sha };
  }
  const src = (args: string[]): Promise<string> =>
    runGit(args, target.location, target.env, 'DELIVERY_FAILED');
  const baseSha = await src(['rev-parse', '--verify', '--quiet', `${baseRef}^{commit}`]).catch(() =>
    fail(`${options.base} is not a branch of ${target.location}; nothing to merge into`),
  );
  const worktree = await checkedOutIn(src, baseRef);
  if (worktree === undefined) {
    const ff = await src(['merge-base', '--is-ancestor', baseSha, sha]).then(
      () => true,
      () => false,
    );
    if (!ff)
      fail(
        `${options.base} has moved on since the agent started and is not checked out in ${target.location}; check it out with a clean working tree and run \`agentic accept --merge\` again (with deliver.merge_commit: true for a merge commit), or merge ${branch} by hand`,
      );
    // Compare-and-swap: refused if the base moved meanwhile.
    await src(['update-ref', '-m', `agentic: fast-forward to ${branch}`, baseRef, sha, baseSha]);
    return { ref: baseRef, sha };
  }
  const wt = (args: string[]): Promise<string> =>
    runGit(args, worktree, target.env, 'DELIVERY_FAILED');
  if ((await wt(['status', '--porcelain', '--untracked-files=no'])) !== '')
    fail(
      `${options.base} is checked out in ${worktree} with uncommitted changes; commit or stash them, then run \`agentic accept --merge\` again`,
    );
  const ff = await src(['merge-base', '--is-ancestor', baseSha, sha]).then(
    () => true,
    () => false,
  );
  if (ff) {
    await wt(['merge', '--quiet', '--ff-only', sha]);
  } else {
    if (!options.mergeCommit)
      fail(
        `${options.base} has moved on since the agent started, so ${branch} cannot be fast-forwarded; set deliver.merge_commit: true to allow a merge commit, or rebase ${branch}`,
      );
    const who = await options.identity();
    try {
      await runGit(
        [
          '-c',
          'commit.gpgsign=false',
          'merge',
          '--quiet',
          '--no-ff',
          '--no-edit',
          '-m',
          `Merge ${branch} (agentic)`,
          sha,
        ],
        worktree,
        { ...target.env, ...identityEnv(who) },
        'DELIVERY_FAILED',
      );
    } catch (err) {
      await wt(['merge', '--abort']).catch(() => undefined);
      fail(`${branch} does not merge cleanly into ${options.base}; resolve it by hand`, err);
    }
  }
  return { ref: baseRef, sha: await wt(['rev-parse', 'HEAD']) };
}

/** The worktree (main or linked) of the source that has `ref` checked out, if any. */
async function checkedOutIn(
  src: (args: string[]) => Promise<string>,
  ref: string,
): Promise<string | undefined> {
  const list = await src(['worktree', 'list', '--porcelain']).catch(() => '');
  let path: string | undefined;
  for (const line of list.split('\n')) {
    if (line.startsWith('worktree ')) path = line.slice('worktree '.length);
    else if (line === `branch ${ref}` && path !== undefined) return path;
  }
  return undefined;
}
