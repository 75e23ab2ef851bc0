import type { AppContext } from '../context.js';
import { forgeSettingsOf, openForge, type Forge, type ForgeDeps } from '../forge/index.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { runGit } from '../lib/git.js';
import type { Changes, StatusRecord } from '../workspace/index.js';
import type { HandbackTarget } from './handback.js';

/** Longest task text in a pull request title, as the title convention asks. */
const TITLE_TASK_CHARS = 60;
/** At most this many commits are listed in the body; the rest are counted. */
const MAX_LISTED_COMMITS = 30;

/** What delivering as a pull request leaves on the record. */
export interface PullRequestDelivery {
  pr_url: string;
  pr_number: number;
  delivered: { mode: 'pr'; ref: string; sha: string; at: string };
  /** False when an open pull request for the branch existed and was updated. */
  created: boolean;
}

/** The part of the record a pull request is built from. */
export type PullRequestRecord = Pick<
  StatusRecord,
  'agent' | 'task' | 'branch' | 'base_ref' | 'base_sha' | 'issue' | 'qa'
>;

function refused(message: string): AgenticError {
  return new AgenticError('DELIVERY_FAILED', message);
}

/**
 * The forge of a URL source, or DELIVERY_FAILED saying why a pull request is impossible: a local
 * path has no forge. Forge lookup errors (FORGE_UNKNOWN, FORGE_TOKEN_MISSING) pass through.
 */
export function forgeFor(ctx: AppContext, target: HandbackTarget, deps?: ForgeDeps): Forge {
  if (target.kind !== 'url')
    throw refused(
      `a pull request needs a forge, but ${target.location} is a local repository; deliver it as a branch (\`agentic accept\`) or dispatch from the repository's GitHub, GitLab or Gitea/Forgejo URL`,
    );
  return openForge(target.location, forgeSettingsOf(ctx.config), deps);
}

/**
 * Pushes the agent branch to the source's `origin` and opens a pull request from it against the
 * base branch recorded at clone time; when one is already open for the branch (a re-delivery
 * after a resume) it is updated instead, so there is never a second one. The push is a
 * `--force-with-lease` against what this clone last saw of the remote branch, so a rewritten
 * branch replaces our own earlier push but never someone else's commits. The forge is resolved
 * (and its token read) before anything is pushed. Throws DELIVERY_FAILED or FORGE_*.
 */
export async function deliverPullRequest(
  ctx: AppContext,
  target: HandbackTarget,
  record: PullRequestRecord,
  head: string,
  changes: Changes,
  deps?: ForgeDeps,
): Promise<PullRequestDelivery> {
  const base = record.base_ref;
  if (base === undefined || /^[0-9a-f]{40,64}$/.test(base))
    throw refused(
      `the work started from a commit, not a branch, so there is no base branch for a pull request; deliver it as a branch with \`agentic accept\``,
    );
  const forge = forgeFor(ctx, target, deps);
  const ref = `refs/heads/${record.branch}`;
  await pushWithLease(target, ref, head);
  const commits = await commitLines(target, record.base_sha ?? base, head);
  const pr = await forge.openPullRequest({
    head: record.branch,
    base,
    title: pullRequestTitle(record),
    body: pullRequestBody(record, changes, commits),
  });
  return {
    pr_url: pr.url,
    pr_number: pr.number,
    delivered: { mode: 'pr', ref, sha: head, at: isoUtc(ctx.clock.now()) },
    created: pr.created,
  };
}

/** `[agent/<agent>] <first line of the task, at most 60 characters>`. */
export function pullRequestTitle(record: Pick<StatusRecord, 'agent' | 'task'>): string {
  const line = (record.task.split('\n').find((l) => l.trim() !== '') ?? '').trim();
  const task =
    line.length > TITLE_TASK_CHARS ? `${line.slice(0, TITLE_TASK_CHARS - 1).trimEnd()}…` : line;
  return `[agent/${record.agent}] ${task || 'agent work'}`;
}

/** The body: the task, `Closes #N` when an issue was given, who did it, the commits, the size and QA. */
export function pullRequestBody(
  record: PullRequestRecord,
  changes: Changes,
  commits: readonly string[],
): string {
  const listed = commits.slice(0, MAX_LISTED_COMMITS);
  const more = commits.length - listed.length;
  const lines = [
    '## Task',
    '',
    record.task.trim(),
    '',
    ...(record.issue !== undefined ? [`Closes #${record.issue}`, ''] : []),
    '## Delivery',
    '',
    `- Agent: ${record.agent}`,
    `- Branch: ${record.branch} (from ${record.base_ref ?? '?'})`,
    `- Change: ${changes.commits} commit(s), ${changes.files_changed} file(s), +${changes.insertions}/-${changes.deletions}`,
    `- QA: ${record.qa === undefined ? 'not run' : `${record.qa.passed ? 'passed' : 'FAILED'}: ${record.qa.summary_text}`}`,
    '',
    '## Commits',
    '',
    ...listed.map((c) => `- ${c}`),
    ...(more > 0 ? [`- … and ${more} more`] : []),
    '',
    '_Opened by agentic._',
  ];
  return lines.join('\n');
}

/** Pushes `sha` to `ref` on origin, `--force-with-lease` against what this clone last saw there; a refusal says what to do. */
export async function pushWithLease(
  target: HandbackTarget,
  ref: string,
  sha: string,
): Promise<void> {
  const tracking = ref.replace(/^refs\/heads\//, 'refs/remotes/origin/');
  // What this clone last pushed or fetched there; empty means "must not exist yet".
  const expected = await runGit(
    ['rev-parse', '--verify', '--quiet', tracking],
    target.repoDir,
    target.env,
    'DELIVERY_FAILED',
  ).catch(() => '');
  try {
    await runGit(
      ['push', `--force-with-lease=${ref}:${expected}`, '--', 'origin', `${sha}:${ref}`],
      target.repoDir,
      target.env,
      'DELIVERY_FAILED',
    );
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (/stale info|rejected|fetch first/i.test(text))
      throw new AgenticError(
        'DELIVERY_FAILED',
        `${target.location} refused the push: its ${ref.slice('refs/heads/'.length)} holds commits this workspace has not seen; delete or rename that branch there (or dispatch with another --branch), then run \`agentic accept --pr\` again`,
        { cause: err },
      );
    throw err;
  }
}

async function commitLines(target: HandbackTarget, base: string, head: string): Promise<string[]> {
  const out = await runGit(
    ['log', '--no-color', '--format=%h %s', `${base}..${head}`],
    target.repoDir,
    target.env,
    'DELIVERY_FAILED',
  ).catch(() => '');
  return out.split('\n').filter((l) => l !== '');
}
