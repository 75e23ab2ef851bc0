import { Octokit } from '@octokit/rest';
import { z } from 'zod';
import { failureContext, parseAnswer, saysAlreadyExists, type AdapterOptions } from './adapter.js';
import { combineChecks, optional } from './checks.js';
import {
  forgeError,
  mapHttpFailure,
  notMergeableError,
  type FailureContext,
  type HttpFailure,
} from './errors.js';
import {
  checkRunSchema,
  checkRunToCheck,
  combinedStatusSchema,
  mergeSchema,
  pullSchema,
  requestErrorSchema,
  statusState,
  toPull,
} from './github-shapes.js';
import { forgeMessage } from './http.js';
import type {
  Check,
  ChecksReport,
  Forge,
  MergeMethod,
  MergeResult,
  OpenPullRequestInput,
  OpenedPullRequest,
  PullRequest,
} from './types.js';

/** GitHub (github.com or Enterprise Server) through `@octokit/rest`. */
export class GitHubForge implements Forge {
  readonly kind = 'github' as const;
  readonly host: string;
  readonly repoPath: string;
  readonly #octokit: Octokit;
  readonly #ctx: FailureContext;
  readonly #owner: string;
  readonly #repo: string;

  constructor(options: AdapterOptions) {
    this.host = options.host;
    this.repoPath = `${options.owner}/${options.repo}`;
    this.#owner = options.owner;
    this.#repo = options.repo;
    this.#ctx = failureContext('github', options);
    const quiet = (): void => undefined;
    this.#octokit = new Octokit({
      auth: options.token,
      baseUrl: options.apiUrl.replace(/\/+$/, ''),
      userAgent: 'agentic',
      request: { fetch: options.fetch },
      log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    });
  }

  async openPullRequest(input: OpenPullRequestInput): Promise<OpenedPullRequest> {
    const op = `open pull request ${input.head} → ${input.base}`;
    try {
      const { data } = await this.#octokit.rest.pulls.create({
        ...this.#repoArgs(),
        head: input.head,
        base: input.base,
        title: input.title,
        body: input.body,
        draft: input.draft === true,
      });
      return { ...this.#pull(data), created: true };
    } catch (err) {
      const failure = toFailure(err);
      if (failure.status === 422 && saysAlreadyExists(failure.message)) {
        const existing = await this.findPullRequest({ head: input.head, base: input.base });
        if (existing !== undefined) {
          const updated = await this.updatePullRequest(existing.number, {
            title: input.title,
            body: input.body,
          });
          return { ...updated, created: false };
        }
      }
      if (failure.status === 422 && /\b(base|head) invalid\b/.test(failure.message)) {
        const which = /\bbase invalid\b/.test(failure.message)
          ? `the base branch ${input.base} does not exist on the forge (deleted?)`
          : `the branch ${input.head} is not on the forge (push it first)`;
        throw forgeError(this.#ctx, 'FORGE_NOT_FOUND', op, `${which}: ${failure.message}`, {
          status: 422,
        });
      }
      if (failure.status === 422 && /no commits between/i.test(failure.message)) {
        throw forgeError(
          this.#ctx,
          'FORGE_REJECTED',
          op,
          `${input.head} has no commits that ${input.base} does not already have (422: ${failure.message}); the work may already be in ${input.base}, or ${input.head} on the forge is not what was pushed`,
          { status: 422 },
        );
      }
      throw mapHttpFailure(this.#ctx, op, failure);
    }
  }

  async updatePullRequest(
    number: number,
    change: { title?: string; body?: string },
  ): Promise<PullRequest> {
    const data = await this.#call(`update pull request #${number}`, () =>
      this.#octokit.rest.pulls.update({
        ...this.#repoArgs(),
        pull_number: number,
        ...optional('title', change.title),
        ...optional('body', change.body),
      }),
    );
    return this.#pull(data);
  }

  async findPullRequest(query: { head: string; base?: string }): Promise<PullRequest | undefined> {
    const pulls = await this.#call(`find pull request for ${query.head}`, () =>
      this.#octokit.paginate(this.#octokit.rest.pulls.list, {
        ...this.#repoArgs(),
        state: 'open',
        head: `${this.#owner}:${query.head}`,
        ...optional('base', query.base),
        per_page: 100,
      }),
    );
    const parsed = parseAnswer(this.#ctx, z.array(pullSchema), pulls).map(toPull);
    return parsed.find((p) => p.head === query.head);
  }

  async getPullRequest(number: number): Promise<PullRequest> {
    const data = await this.#call(`get pull request #${number}`, () =>
      this.#octokit.rest.pulls.get({ ...this.#repoArgs(), pull_number: number }),
    );
    return this.#pull(data);
  }

  async getChecks(ref: string): Promise<ChecksReport> {
    const op = `get checks of ${ref}`;
    // One request at a time: GitHub asks integrations not to run requests concurrently.
    const runs = await this.#call(op, () =>
      this.#octokit.paginate(this.#octokit.rest.checks.listForRef, {
        ...this.#repoArgs(),
        ref,
        filter: 'latest',
        per_page: 100,
      }),
    );
    const combined = await this.#call(op, () =>
      this.#octokit.rest.repos.getCombinedStatusForRef({ ...this.#repoArgs(), ref, per_page: 100 }),
    );
    const checks: Check[] = [
      ...parseAnswer(this.#ctx, z.array(checkRunSchema), runs).map(checkRunToCheck),
      // A ref without statuses has combined state "pending" and none listed: not a pending check.
      ...parseAnswer(this.#ctx, combinedStatusSchema, combined).statuses.map((s) => ({
        name: s.context,
        state: statusState(s.state),
        ...optional('url', s.target_url),
        ...optional('summary', s.description),
      })),
    ];
    return { state: combineChecks(checks), checks };
  }

  async merge(number: number, method: MergeMethod): Promise<MergeResult> {
    const op = `merge pull request #${number} (${method})`;
    try {
      const { data } = await this.#octokit.rest.pulls.merge({
        ...this.#repoArgs(),
        pull_number: number,
        merge_method: method,
      });
      return { sha: parseAnswer(this.#ctx, mergeSchema, data).sha ?? undefined };
    } catch (err) {
      const failure = toFailure(err);
      // 405: not mergeable (or already merged); 409: the head moved since it was checked.
      if (failure.status === 405 || failure.status === 409) {
        throw await notMergeableError(this.#ctx, op, failure, () => this.getPullRequest(number));
      }
      throw mapHttpFailure(this.#ctx, op, failure);
    }
  }

  async comment(number: number, text: string): Promise<void> {
    await this.#call(`comment on pull request #${number}`, () =>
      this.#octokit.rest.issues.createComment({
        ...this.#repoArgs(),
        issue_number: number,
        body: text,
      }),
    );
  }

  async addLabel(number: number, label: string): Promise<void> {
    // GitHub creates a label that does not exist yet.
    await this.#call(`add label "${label}" to pull request #${number}`, () =>
      this.#octokit.rest.issues.addLabels({
        ...this.#repoArgs(),
        issue_number: number,
        labels: [label],
      }),
    );
  }

  async deleteBranch(name: string): Promise<boolean> {
    try {
      await this.#octokit.rest.git.deleteRef({ ...this.#repoArgs(), ref: `heads/${name}` });
      return true;
    } catch (err) {
      const failure = toFailure(err);
      if (failure.status === 422 && /does not exist/i.test(failure.message)) return false;
      throw mapHttpFailure(this.#ctx, `delete branch ${name}`, failure);
    }
  }

  #repoArgs(): { owner: string; repo: string } {
    return { owner: this.#owner, repo: this.#repo };
  }

  #pull(data: unknown): PullRequest {
    return toPull(parseAnswer(this.#ctx, pullSchema, data));
  }

  /** Runs one Octokit call and returns its data; failures become FORGE_* errors for `op`. */
  async #call<T>(op: string, run: () => Promise<T | { data: T }>): Promise<T> {
    try {
      const result = await run();
      return isResponse(result) ? result.data : result;
    } catch (err) {
      throw mapHttpFailure(this.#ctx, op, toFailure(err));
    }
  }
}

function isResponse<T>(value: T | { data: T }): value is { data: T } {
  return typeof value === 'object' && value !== null && 'data' in value && 'status' in value;
}

/** An Octokit error as an HttpFailure; a 500 without a response is Octokit's wrapping of a network error. */
function toFailure(err: unknown): HttpFailure {
  const parsed = requestErrorSchema.safeParse(err);
  if (!parsed.success) {
    return { status: undefined, headers: {}, message: err instanceof Error ? err.message : '' };
  }
  const { status, response } = parsed.data;
  if (response === undefined)
    return { status: undefined, headers: {}, message: parsed.data.message };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (typeof value === 'string' || typeof value === 'number')
      headers[name.toLowerCase()] = String(value);
  }
  return { status, headers, message: forgeMessage(response.data) || parsed.data.message };
}
