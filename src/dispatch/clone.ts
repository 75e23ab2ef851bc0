import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AgenticError } from '../lib/errors.js';
import { headBranch, looseRef, runGit } from '../lib/git.js';
import { isErrno, readTextIfExists, writeFileAtomicAsync } from '../lib/fs.js';
import { validateBranch } from '../workspace/index.js';
import type { RepoSource } from './repo-source.js';

/** Result of preparing a workspace's clone. */
export interface PrepResult {
  repoDir: string;
  branch: string;
  /** The branch (or commit) the agent branch started from. */
  baseRef: string;
  /** The commit the agent branch started from: changes are counted against it. */
  baseSha: string;
  reused: boolean;
}

/** Where the agent branch starts: `ref` from `dispatch --base`, or what a reused clone recorded. */
export interface BaseChoice {
  ref?: string | undefined;
  sha?: string | undefined;
}

/** Files agentic may put in a clone; listed in `.git/info/exclude` so no commit takes them. */
export const AGENTIC_FILES = ['BLOCKED.md', 'ANSWER.md'] as const;

/**
 * Makes `<workspace>/repo` a clone of the source on `branch`, created from `base.ref` when
 * given (a branch of the source, a tag or a commit) and else from the source's current branch,
 * unless the branch exists there. Local sources are cloned with hardlinks. An existing clone is
 * reused with the base it recorded. Throws PREP_FAILED with git's message.
 */
export async function prepareClone(
  workspace: string,
  source: RepoSource,
  branch: string,
  env: Readonly<Record<string, string>>,
  base: BaseChoice = {},
): Promise<PrepResult> {
  validateBranch(branch);
  const repoDir = join(workspace, 'repo');
  const git = (args: string[], cwd = repoDir): Promise<string> => runGit(args, cwd, env);
  const reused = existsSync(join(repoDir, '.git'));
  if (!reused) {
    mkdirSync(workspace, { recursive: true });
    // Clone beside and rename into place, so a runner killed mid-clone never leaves a
    // half-made repo/ that the next attempt would take for a finished one.
    for (const entry of readdirSync(workspace)) {
      if (entry.startsWith('repo.partial-'))
        rmSync(join(workspace, entry), { recursive: true, force: true });
    }
    const partial = join(workspace, `repo.partial-${process.pid}`);
    const args =
      source.kind === 'local'
        ? ['clone', '--local', '--quiet', '--', source.location, partial]
        : ['clone', '--quiet', '--', source.location, partial];
    await git(args, workspace);
    rmSync(repoDir, { recursive: true, force: true });
    renameSync(partial, repoDir);
  }
  // Only a clone from an earlier attempt can hold a lock a killed runner left behind.
  if (reused) clearStaleLocks(repoDir, branch);
  excludeAgenticFiles(repoDir);
  // Read HEAD and refs from the files where we can: every git process costs milliseconds
  // per dispatch, and a fresh clone's layout is known.
  const current = headBranch(repoDir);
  const currentName = current ?? (await git(['rev-parse', '--abbrev-ref', 'HEAD']));
  let baseRef: string;
  let baseSha: string;
  let start: string | undefined; // where a new agent branch starts, when not at HEAD
  if (reused && base.sha !== undefined) {
    baseRef = base.ref ?? base.sha;
    baseSha = base.sha;
  } else if (base.ref !== undefined && base.ref !== current) {
    baseRef = base.ref;
    start = hasRemoteBranch(repoDir, base.ref) ? `origin/${base.ref}` : base.ref;
    baseSha = await git(['rev-parse', '--verify', '--quiet', `${start}^{commit}`]).catch(() => {
      throw new AgenticError(
        'PREP_FAILED',
        `base ${JSON.stringify(base.ref)} is neither a branch nor a commit of ${source.location}`,
        { field: 'base' },
      );
    });
  } else if (reused) {
    baseRef = base.ref ?? (await originHead(git, currentName));
    baseSha = await git(['merge-base', 'HEAD', `origin/${baseRef}`]).catch(() =>
      git(['rev-parse', 'HEAD']),
    );
  } else {
    baseRef = current ?? (await git(['rev-parse', 'HEAD']));
    baseSha = looseRef(repoDir, currentName) ?? (await git(['rev-parse', 'HEAD']));
  }
  if (currentName !== branch) {
    const local = reused && (await git(['branch', '--list', branch])) !== '';
    if (local) await git(['checkout', '--quiet', branch]);
    else if (hasRemoteBranch(repoDir, branch))
      await git(['checkout', '--quiet', '-b', branch, '--track', `origin/${branch}`]);
    else if (start !== undefined) await git(['checkout', '--quiet', '-b', branch, baseSha]);
    else if (reused || !(await branchFromHead(repoDir, currentName, branch)))
      await git(['checkout', '--quiet', '-b', branch]);
  }
  return { repoDir, branch, baseRef, baseSha, reused };
}

/** Adds agentic's own files to the clone's `.git/info/exclude` (once), so no commit takes them. */
function excludeAgenticFiles(repoDir: string): void {
  const path = join(repoDir, '.git', 'info', 'exclude');
  const text = readTextIfExists(path) ?? '';
  const lines = new Set(text.split('\n'));
  const missing = AGENTIC_FILES.map((f) => `/${f}`).filter((l) => !lines.has(l));
  if (missing.length === 0) return;
  mkdirSync(dirname(path), { recursive: true });
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  appendFileSync(path, `${sep}# agentic's own files, never committed\n${missing.join('\n')}\n`);
}

/**
 * Removes the lock files a runner (or its git) killed in the middle of switching branches
 * leaves behind; git would refuse to touch HEAD, the index or the ref while they exist. Nothing
 * else works in a clone while the runner that claimed its workspace prepares it.
 */
function clearStaleLocks(repoDir: string, branch: string): void {
  const dotGit = join(repoDir, '.git');
  for (const lock of ['HEAD.lock', 'index.lock', join('refs', 'heads', `${branch}.lock`)]) {
    try {
      rmSync(join(dotGit, lock), { force: true });
    } catch (err) {
      // A ref path through a file (branch a/b beside a branch a) cannot hold a lock.
      if (!isErrno(err, 'ENOTDIR')) throw err;
    }
  }
}

/**
 * `git checkout -b <branch>` in a fresh clone, as two file writes instead of a git process (a
 * spawn costs the runner's thread milliseconds per dispatch): the new branch points at HEAD's
 * commit, so index and work tree are already right. Taken only for the files ref backend with
 * the current branch as a loose ref, which is how `git clone` leaves it; each file is written
 * through git's own `<file>.lock` protocol. Returns false ("ask git") in any other case.
 */
async function branchFromHead(repoDir: string, current: string, branch: string): Promise<boolean> {
  const dotGit = join(repoDir, '.git');
  if (/refstorage/i.test(readTextIfExists(join(dotGit, 'config')) ?? '')) return false;
  const commit = looseRef(repoDir, current);
  if (commit === undefined) return false;
  const ref = join(dotGit, 'refs', 'heads', branch);
  if (existsSync(ref)) return false;
  try {
    await writeLocked(ref, `${commit}\n`);
  } catch {
    return false; // e.g. a branch named like a directory of this one: git explains it better
  }
  try {
    await writeLocked(join(dotGit, 'HEAD'), `ref: refs/heads/${branch}\n`);
    return true;
  } catch (err) {
    rmSync(ref, { force: true });
    throw new AgenticError('PREP_FAILED', `cannot switch the clone to ${branch}`, { cause: err });
  }
}

/**
 * Replaces a git ref file the way git does: exclusive `<file>.lock`, then rename. The lock is
 * a new file, written here; the rename over the old file (which ext4 flushes) runs on the
 * thread pool.
 */
async function writeLocked(path: string, content: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const lock = `${path}.lock`;
  const fd = openSync(lock, 'wx', 0o644);
  try {
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    await rename(lock, path);
  } catch (err) {
    rmSync(lock, { force: true });
    throw err;
  }
}

/** True when the clone knows `origin/<branch>` (loose ref or packed-refs). */
function hasRemoteBranch(repoDir: string, branch: string): boolean {
  const ref = `refs/remotes/origin/${branch}`;
  if (existsSync(join(repoDir, '.git', ref))) return true;
  const packed = readTextIfExists(join(repoDir, '.git', 'packed-refs'));
  return packed !== undefined && packed.split('\n').some((line) => line.endsWith(` ${ref}`));
}

async function originHead(
  git: (args: string[]) => Promise<string>,
  fallback: string,
): Promise<string> {
  try {
    return (await git(['symbolic-ref', '--short', 'refs/remotes/origin/HEAD'])).replace(
      /^origin\//,
      '',
    );
  } catch {
    return fallback;
  }
}

/** Writes `.meta/prompt.md` and a content-addressed copy `.meta/prompts/<sha256>.md` (on the thread pool); returns the prompt path. */
export async function writePrompt(workspace: string, prompt: string): Promise<string> {
  const meta = join(workspace, '.meta');
  const digest = createHash('sha256').update(prompt).digest('hex');
  const path = join(meta, 'prompt.md');
  await Promise.all([
    writeFileAtomicAsync(join(meta, 'prompts', `${digest}.md`), prompt),
    writeFileAtomicAsync(path, prompt),
  ]);
  return path;
}
