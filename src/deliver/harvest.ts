import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
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
  // Only whether anything is left matters: no rename detection, and no index refresh written
  // back (the optional lock), which the commit below does anyway when there is something.
  const dirty =
    (await runGit(
      ['status', '--porcelain', '--untracked-files=all', '--no-renames'],
      input.repoDir,
      { ...input.env, GIT_OPTIONAL_LOCKS: '0' },
      'DELIVERY_FAILED',
    )) !== '';
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
    linearCount(at.repoDir, base, head) ??
      git(at, ['rev-list', '--count', `${base}..${head}`]).then(Number),
    git(at, ['diff', '--numstat', '--no-renames', base, head]),
  ]);
  const changes = { commits: count || 0, files_changed: 0, insertions: 0, deletions: 0 };
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

/** Longest chain of commits {@link linearCount} walks before leaving the count to git. */
const MAX_WALK = 1000;

/**
 * The number of commits from `head` back to `base` when that history is a single line of
 * loose commit objects — what an agent's fresh commits are — read from the object files; one
 * git process fewer per closeout. Undefined (count with git) when it meets a packed or missing
 * object, a merge, a root commit or a longer chain: then `base..head` is not simply the walk.
 */
function linearCount(repoDir: string, base: string, head: string): number | undefined {
  let sha = head;
  for (let count = 0; count <= MAX_WALK; count++) {
    if (sha === base) return count;
    let body: string;
    try {
      const file = join(repoDir, '.git', 'objects', sha.slice(0, 2), sha.slice(2));
      body = inflateSync(readFileSync(file)).toString('latin1');
    } catch {
      return undefined;
    }
    const header = body.indexOf('\0');
    if (!body.startsWith('commit ') || header < 0) return undefined;
    // The parents follow the tree line; the headers end at the first empty line.
    const headers = body.slice(header + 1, body.indexOf('\n\n', header));
    const parents = headers
      .split('\n')
      .filter((l) => l.startsWith('parent '))
      .map((l) => l.slice('parent '.length));
    if (parents.length !== 1 || parents[0] === undefined) return undefined;
    sha = parents[0];
  }
  return undefined;
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
