import { AgenticError } from '../lib/errors.js';
import { headBranch, looseRef, runGit } from '../lib/git.js';
import type { Changes } from '../workspace/index.js';

/** Who the harvest commit is by. */
export interface Identity {
  name: string;
  email: string;
}

/** The identity used when neither agents.yaml nor the source repository names one. */
export const FALLBACK_IDENTITY: Identity = { name: 'agentic', email: 'agentic@localhost' };

/** What a harvest did and found. */
export interface Harvest {
  /** True when the agent left uncommitted changes that were committed now. */
  committed: boolean;
  /** The agent branch's commit after the harvest. */
  head: string;
  changes: Changes;
}

/** What a harvest needs to know about a workspace. */
export interface HarvestInput {
  repoDir: string;
  branch: string;
  baseSha: string;
  task: string;
  /** Resolved lazily: only a harvest that commits asks for it. */
  identity: () => Promise<Identity>;
  env: Readonly<Record<string, string>>;
}

const git = (input: { repoDir: string; env: Readonly<Record<string, string>> }, args: string[]) =>
  runGit(args, input.repoDir, input.env, 'DELIVERY_FAILED');

/**
 * Commits what the agent left uncommitted on its branch (agentic's own files are excluded by
 * `.git/info/exclude`), then counts the branch's changes against the base commit. Throws
 * DELIVERY_FAILED when the clone is not on the agent branch or git fails.
 */
export async function harvest(input: HarvestInput): Promise<Harvest> {
  const head = headBranch(input.repoDir);
  if (head !== input.branch) {
    throw new AgenticError(
      'DELIVERY_FAILED',
      `the agent left its clone on ${head === undefined ? 'a detached HEAD' : `branch ${head}`}, not on ${input.branch}; check out ${input.branch} in ${input.repoDir} and accept again`,
    );
  }
  const dirty = (await git(input, ['status', '--porcelain', '--untracked-files=all'])) !== '';
  if (dirty) {
    const who = await input.identity();
    await git(input, ['add', '--all']);
    await runGit(
      [
        '-c',
        'commit.gpgsign=false',
        'commit',
        '--quiet',
        '--no-verify',
        '-m',
        commitMessage(input.task),
      ],
      input.repoDir,
      { ...input.env, ...identityEnv(who) },
      'DELIVERY_FAILED',
    );
  }
  const sha = looseRef(input.repoDir, input.branch) ?? (await git(input, ['rev-parse', 'HEAD']));
  return { committed: dirty, head: sha, changes: await changesBetween(input, input.baseSha, sha) };
}

/** The change of `head` against `base`: commits in between, files, lines added and removed. */
export async function changesBetween(
  at: { repoDir: string; env: Readonly<Record<string, string>> },
  base: string,
  head: string,
): Promise<Changes> {
  if (base === head) return { commits: 0, files_changed: 0, insertions: 0, deletions: 0 };
  const [count, numstat] = await Promise.all([
    git(at, ['rev-list', '--count', `${base}..${head}`]),
    git(at, ['diff', '--numstat', '--no-renames', base, head]),
  ]);
  const changes = { commits: Number(count) || 0, files_changed: 0, insertions: 0, deletions: 0 };
  for (const line of numstat.split('\n')) {
    const [added, removed] = line.split('\t');
    if (added === undefined || removed === undefined) continue;
    changes.files_changed++;
    // Binary files show "-": they count as changed files without lines.
    changes.insertions += Number(added) || 0;
    changes.deletions += Number(removed) || 0;
  }
  return changes;
}

/** The environment that makes git author and commit as `who` (it wins over any git config). */
export function identityEnv(who: Identity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
  };
}

/** The harvest commit's message: the task's first line (at most 72 characters) and a note. */
export function commitMessage(task: string): string {
  const first = task.split('\n').find((l) => l.trim() !== '') ?? 'agent work';
  const subject = first.trim().length > 72 ? `${first.trim().slice(0, 71)}…` : first.trim();
  return `${subject}\n\nChanges the agent left uncommitted, committed by agentic.`;
}

/**
 * The identity of harvest commits: agents.yaml `deliver.identity`, else the source
 * repository's `user.name`/`user.email` (a local source's own config, or the clone's, which
 * includes the global one), else {@link FALLBACK_IDENTITY}.
 */
export async function resolveIdentity(
  configured: Identity | undefined,
  configDir: string,
  env: Readonly<Record<string, string>>,
): Promise<Identity> {
  if (configured) return configured;
  const get = (key: string): Promise<string> =>
    runGit(['config', '--get', key], configDir, env).catch(() => '');
  const [name, email] = await Promise.all([get('user.name'), get('user.email')]);
  return name !== '' && email !== '' ? { name, email } : FALLBACK_IDENTITY;
}
