import type { AppContext } from '../context.js';
import {
  forgeErrorDetail,
  forgeSettingsOf,
  openForge,
  type Forge,
  type ForgeDeps,
  type PullRequest,
} from '../forge/index.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { runGit } from '../lib/git.js';
import type { Changes, StatusRecord } from '../workspace/index.js';
import type { HandbackTarget } from './handback.js';

/** Longest task text in a pull request title, as the title convention asks. */
const TITLE_TASK_CHARS = 60;
/** At most this many commits are listed in the body; the rest are counted. */
const MAX_LISTED_COMMITS = 30;
/**
 * A rate limit that lifts within this long is waited out in place (at most twice per call);
 * a later one fails the delivery with the time it lifts, since holding a closeout for longer
 * would starve the other workspaces.
 */
export const RATE_LIMIT_WAIT_MAX_MS = 30_000;
const RATE_LIMIT_TRIES = 3;

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
  'agent' | 'task' | 'branch' | 'base_ref' | 'base_sha' | 'issue' | 'qa' | 'pr_number' | 'pr_url'
>;

/** How a delivery treats a recorded pull request that is no longer open. */
export interface PullRequestOptions {
  /**
   * Open a new pull request when the recorded one was merged or closed (an explicit
   * `accept --pr`); without it such a re-delivery stops with FORGE_PR_CLOSED and pushes nothing.
   */
  replaceClosed?: boolean;
}

function refused(message: string): AgenticError {
  return new AgenticError('DELIVERY_FAILED', message);
}

/**
 * The forge of a URL source, or DELIVERY_FAILED saying why a pull request is impossible: a local
 * path has no forge. Forge lookup errors (FORGE_UNKNOWN, FORGE_TOKEN_MISSING) pass through.
 */
export async function forgeFor(
  ctx: AppContext,
  target: HandbackTarget,
  deps?: ForgeDeps,
): Promise<Forge> {
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
 * (and its token read) before anything is pushed, and a recorded pull request that was merged or
 * closed meanwhile stops the delivery before the push (see PullRequestOptions). A short rate
 * limit is waited out; a longer one throws FORGE_RATE_LIMITED with the time it lifts. Nothing
 * in the workspace's clone is changed by a failure. Throws DELIVERY_FAILED or FORGE_*.
 */
export async function deliverPullRequest(
  ctx: AppContext,
  target: HandbackTarget,
  record: PullRequestRecord,
  head: string,
  changes: Changes,
  deps?: ForgeDeps,
  options: PullRequestOptions = {},
): Promise<PullRequestDelivery> {
  const base = record.base_ref;
  if (base === undefined || /^[0-9a-f]{40,64}$/.test(base))
    throw refused(
      `the work started from a commit, not a branch, so there is no base branch for a pull request; deliver it as a branch with \`agentic accept\``,
    );
  const forge = await forgeFor(ctx, target, deps);
  const patient = <T>(call: () => Promise<T>): Promise<T> => waitOutRateLimit(call, deps);
  const recorded = record.pr_number;
  if (recorded !== undefined && options.replaceClosed !== true) {
    // Gone altogether (GitLab lets an admin delete a merge request): a new one is opened below;
    // a repository the token cannot see fails there with the forge's own 404.
    const previous = await patient(() => forge.getPullRequest(recorded)).catch((err: unknown) => {
      if (err instanceof AgenticError && err.code === 'FORGE_NOT_FOUND') return undefined;
      throw err;
    });
    if (previous !== undefined && previous.state !== 'open')
      throw closedError(forge, previous, record.branch);
  }
  const ref = `refs/heads/${record.branch}`;
  await pushWithLease(target, ref, head);
  const commits = await commitLines(target, record.base_sha ?? base, head);
  const pr = await patient(() =>
    forge.openPullRequest({
      head: record.branch,
      base,
      title: pullRequestTitle(record),
      body: pullRequestBody(record, changes, commits),
    }),
  );
  return {
    pr_url: pr.url,
    pr_number: pr.number,
    delivered: { mode: 'pr', ref, sha: head, at: isoUtc(ctx.clock.now()) },
    created: pr.created,
  };
}

/** Runs `call`, sleeping through rate limits that lift within RATE_LIMIT_WAIT_MAX_MS. */
async function waitOutRateLimit<T>(
  call: () => Promise<T>,
  deps: ForgeDeps | undefined,
): Promise<T> {
  const now = deps?.now ?? Date.now;
  const sleep =
    deps?.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const retryAt = forgeErrorDetail(err)?.retryAt;
      const wait = retryAt === undefined ? undefined : retryAt.getTime() - now();
      if (
        !(err instanceof AgenticError) ||
        err.code !== 'FORGE_RATE_LIMITED' ||
        wait === undefined ||
        wait > RATE_LIMIT_WAIT_MAX_MS ||
        attempt >= RATE_LIMIT_TRIES
      )
        throw err;
      // A little past the stated time: reset clocks are whole seconds.
      await sleep(Math.max(0, wait) + 250);
    }
  }
}

function closedError(forge: Forge, pr: PullRequest, branch: string): AgenticError {
  const what =
    pr.state === 'merged'
      ? `pull request #${pr.number} (${pr.url}) was already merged, so the new commits were not pushed`
      : `pull request #${pr.number} (${pr.url}) was closed without merging, so the new commits were not pushed`;
  const todo =
    pr.state === 'merged'
      ? 'run `agentic accept --pr` to open a new pull request with them'
      : `reopen it and run \`agentic accept --pr\` to update it, or run \`agentic accept --pr\` to open a new one`;
  return new AgenticError(
    'FORGE_PR_CLOSED',
    `${forge.repoPath} on ${forge.host}: ${what}; they stay on branch ${branch} in the workspace: ${todo}`,
  );
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
    const branch = ref.slice('refs/heads/'.length);
    const kept = `nothing is lost: the commits stay on ${branch} in ${target.repoDir}`;
    if (/\((stale info|fetch first|non-fast-forward)\)/i.test(text))
      throw new AgenticError(
        'DELIVERY_FAILED',
        `${target.location} refused the push: its ${branch} holds commits this workspace has not seen; delete or rename that branch there (or dispatch with another --branch), then run \`agentic accept --pr\` again`,
        { cause: err },
      );
    if (/remote rejected/i.test(text))
      throw new AgenticError(
        'DELIVERY_FAILED',
        `${target.location} refused the push of ${branch}${refusalReason(text)}; ${kept}; once the remote accepts it (a hook, branch protection or push rights there), run \`agentic accept --pr\``,
        { cause: err },
      );
    throw new AgenticError(
      'DELIVERY_FAILED',
      `could not push ${branch} to ${target.location}: ${text.replace(/^git push failed: /, '')}; ${kept}; fix the access, then run \`agentic accept --pr\``,
      { cause: err },
    );
  }
}

/** The server's words about a refused push: `(pre-receive hook declined)` and its `remote:` lines. */
function refusalReason(gitOutput: string): string {
  const why = /\[remote rejected\][^\n(]*\(([^)\n]+)\)/.exec(gitOutput)?.[1];
  const said = gitOutput
    .replace(/^git push failed: /, '')
    .split('\n')
    .map((l) => /^remote:\s*(.*?)\s*$/.exec(l)?.[1] ?? '')
    .filter((l) => l !== '')
    .slice(0, 5)
    .join(' / ');
  return `${why === undefined ? '' : ` (${why})`}${said === '' ? '' : `: ${said}`}`;
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
