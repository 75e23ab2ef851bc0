import type { ForgeKind } from '../config/index.js';

export type { ForgeKind };

/** How a pull request is merged: a merge commit, one squashed commit, or the commits rebased onto the base. */
export type MergeMethod = 'merge' | 'squash' | 'rebase';

/** A pull request's life: still open, closed unmerged, or merged. */
export type PullRequestState = 'open' | 'closed' | 'merged';

/** A pull request (GitLab: merge request) as the pipeline needs it, the same for every forge. */
export interface PullRequest {
  /** GitHub/Gitea pull number, GitLab merge request IID. */
  readonly number: number;
  /** The page a person opens in a browser. */
  readonly url: string;
  readonly state: PullRequestState;
  readonly draft: boolean;
  readonly title: string;
  readonly body: string;
  /** The branch with the agent's work. */
  readonly head: string;
  /** The commit at the tip of `head`, as the forge last saw it ('' when it does not say). */
  readonly headSha: string;
  /** The branch it merges into. */
  readonly base: string;
  /** Whether the forge says it can merge; undefined while it is still computing or does not say. */
  readonly mergeable: boolean | undefined;
  /** Whether the forge reports a merge conflict with the base; undefined when it does not say. */
  readonly conflict: boolean | undefined;
}

/** What `openPullRequest` returns: the pull request, and whether it was created now (false: an open one existed and was updated). */
export interface OpenedPullRequest extends PullRequest {
  readonly created: boolean;
}

/** One state for CI, whatever the forge calls it: still running, all passed, something failed, or nothing configured. */
export type ChecksState = 'pending' | 'success' | 'failure' | 'none';

/** One check, commit status or CI job. */
export interface Check {
  readonly name: string;
  readonly state: Exclude<ChecksState, 'none'>;
  /** Where a person can read more (the check's or job's page). */
  readonly url?: string;
  /** The forge's short description or a log excerpt (GitLab job logs, GitHub check output), when the API exposes one. */
  readonly summary?: string;
}

/** The CI verdict for one commit: the combined state and each check behind it. */
export interface ChecksReport {
  readonly state: ChecksState;
  readonly checks: readonly Check[];
}

/** The result of a merge: the commit the base branch now points at, when the forge says. */
export interface MergeResult {
  readonly sha: string | undefined;
}

/** What `openPullRequest` sends. */
export interface OpenPullRequestInput {
  readonly head: string;
  readonly base: string;
  readonly title: string;
  readonly body: string;
  /** Open as a draft (GitHub flag; GitLab `Draft:` and Gitea/Forgejo `WIP:` title prefixes). Default false. */
  readonly draft?: boolean;
}

/**
 * One repository on one forge, as the delivery pipeline uses it. Every method throws AgenticError
 * with a `FORGE_*` code (see `forgeErrorDetail` for the forge, operation and retry time); no
 * method ever sleeps long: a rate limit is thrown with its retry time for the caller to wait.
 */
export interface Forge {
  readonly kind: ForgeKind;
  /** The host as written in the remote URL (with its port), for messages. */
  readonly host: string;
  /** `owner/repo` (GitLab: the full namespace path). */
  readonly repoPath: string;
  /** Opens a pull request; when one is already open for `head`, updates its title and body and returns it instead. */
  openPullRequest(input: OpenPullRequestInput): Promise<OpenedPullRequest>;
  /** Changes the title and/or body of a pull request. */
  updatePullRequest(
    number: number,
    change: { title?: string; body?: string },
  ): Promise<PullRequest>;
  /** The open pull request from branch `head` (into `base` when given), or undefined. */
  findPullRequest(query: { head: string; base?: string }): Promise<PullRequest | undefined>;
  /** One pull request by number, whatever its state. */
  getPullRequest(number: number): Promise<PullRequest>;
  /** The normalised CI result for a commit SHA or branch name. */
  getChecks(ref: string): Promise<ChecksReport>;
  /** Merges an open pull request; throws FORGE_CONFLICT when it cannot be merged, FORGE_PR_CLOSED when already merged or closed. */
  merge(number: number, method: MergeMethod): Promise<MergeResult>;
  /** Adds a comment to a pull request. */
  comment(number: number, text: string): Promise<void>;
  /** Adds a label to a pull request, creating the label where the forge needs that. */
  addLabel(number: number, label: string): Promise<void>;
  /** Deletes a branch; resolves false when it was already gone. */
  deleteBranch(name: string): Promise<boolean>;
}
