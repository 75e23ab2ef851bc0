import { Branches, Jobs, MergeRequestNotes, MergeRequests, Pipelines } from '@gitbeaker/rest';
import { z } from 'zod';
import { failureContext, parseAnswer, saysAlreadyExists, type AdapterOptions } from './adapter.js';
import { logExcerpt, optional } from './checks.js';
import {
  forgeError,
  mapHttpFailure,
  notMergeableError,
  type FailureContext,
  type HttpFailure,
} from './errors.js';
import { gitlabFailureOf, gitlabRequester } from './gitlab-requester.js';
import {
  jobSchema,
  jobState,
  mrSchema,
  pipelineSchema,
  pipelineState,
  toPull,
} from './gitlab-shapes.js';
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

/** Failed jobs whose log tail is fetched for the agent; the rest get the failure reason only. */
const MAX_TRACES = 5;
/** A rebase is asked for and then polled this often, this many times, before the caller is told to retry. */
const REBASE_POLLS = 20;
const REBASE_POLL_MS = 250;

/** GitLab (gitlab.com or self-managed) merge requests and pipelines through `@gitbeaker/rest`. */
export class GitLabForge implements Forge {
  readonly kind = 'gitlab' as const;
  readonly host: string;
  readonly repoPath: string;
  readonly #ctx: FailureContext;
  readonly #options: AdapterOptions;
  readonly #mrs: InstanceType<typeof MergeRequests<false>>;
  readonly #notes: InstanceType<typeof MergeRequestNotes<false>>;
  readonly #pipelines: InstanceType<typeof Pipelines<false>>;
  readonly #jobs: InstanceType<typeof Jobs<false>>;
  readonly #branches: InstanceType<typeof Branches<false>>;

  constructor(options: AdapterOptions) {
    this.host = options.host;
    this.repoPath = `${options.owner}/${options.repo}`;
    this.#options = options;
    this.#ctx = failureContext('gitlab', options);
    const config = {
      // gitbeaker appends /api/v4 itself.
      host: options.apiUrl.replace(/\/+$/, '').replace(/\/api\/v4$/, ''),
      token: options.token,
      requesterFn: gitlabRequester(options.fetch),
      rateLimits: {},
    };
    this.#mrs = new MergeRequests(config);
    this.#notes = new MergeRequestNotes(config);
    this.#pipelines = new Pipelines(config);
    this.#jobs = new Jobs(config);
    this.#branches = new Branches(config);
  }

  async openPullRequest(input: OpenPullRequestInput): Promise<OpenedPullRequest> {
    const op = `open merge request ${input.head} → ${input.base}`;
    const title = input.draft === true ? `Draft: ${input.title}` : input.title;
    try {
      const created = await this.#mrs.create(this.repoPath, input.head, input.base, title, {
        description: input.body,
      });
      return { ...this.#mr(created), created: true };
    } catch (err) {
      const failure = this.#failureOf(err);
      // 409 "Another open merge request already exists for this source branch: !N".
      if (failure.status === 409 || saysAlreadyExists(failure.message)) {
        const existing = await this.findPullRequest({ head: input.head, base: input.base });
        if (existing !== undefined) {
          const updated = await this.updatePullRequest(existing.number, {
            title,
            body: input.body,
          });
          return { ...updated, created: false };
        }
      }
      // Validation failures name the field: {"message": {"target_branch": ["is invalid"]}}.
      const invalid = failure.status !== undefined && failure.status < 500;
      const missing = !invalid
        ? undefined
        : /target.?branch/i.test(failure.message)
          ? `the target branch ${input.base} is not on the forge (deleted?)`
          : /source.?branch/i.test(failure.message)
            ? `the branch ${input.head} is not on the forge (push it first)`
            : undefined;
      if (missing !== undefined)
        throw forgeError(this.#ctx, 'FORGE_NOT_FOUND', op, `${missing}: ${failure.message}`, {
          status: failure.status,
        });
      throw mapHttpFailure(this.#ctx, op, failure);
    }
  }

  async updatePullRequest(
    number: number,
    change: { title?: string; body?: string },
  ): Promise<PullRequest> {
    const updated = await this.#call(`update merge request !${number}`, () =>
      this.#mrs.edit(this.repoPath, number, {
        ...optional('title', change.title),
        ...optional('description', change.body),
      }),
    );
    return this.#mr(updated);
  }

  async findPullRequest(query: { head: string; base?: string }): Promise<PullRequest | undefined> {
    const found = await this.#call(`find merge request for ${query.head}`, () =>
      this.#mrs.all({
        projectId: this.repoPath,
        state: 'opened',
        sourceBranch: query.head,
        ...optional('targetBranch', query.base),
        perPage: 20,
        maxPages: 1,
      }),
    );
    const mrs = parseAnswer(this.#ctx, z.array(mrSchema), found).map(toPull);
    return mrs.find((m) => m.head === query.head);
  }

  async getPullRequest(number: number): Promise<PullRequest> {
    const mr = await this.#call(`get merge request !${number}`, () =>
      this.#mrs.show(this.repoPath, number),
    );
    return this.#mr(mr);
  }

  async getChecks(ref: string): Promise<ChecksReport> {
    const op = `get pipeline of ${ref}`;
    const bySha = /^[0-9a-f]{40}$/i.test(ref);
    const pipelines = await this.#call(op, () =>
      this.#pipelines.all(this.repoPath, {
        ...(bySha ? { sha: ref } : { ref }),
        orderBy: 'id',
        sort: 'desc',
        perPage: 1,
        maxPages: 1,
      }),
    );
    const pipeline = parseAnswer(this.#ctx, z.array(pipelineSchema), pipelines)[0];
    if (pipeline === undefined) return { state: 'none', checks: [] };
    const rawJobs = await this.#call(op, () =>
      this.#jobs.all(this.repoPath, { pipelineId: pipeline.id, perPage: 100, maxPages: 10 }),
    );
    const jobs = parseAnswer(this.#ctx, z.array(jobSchema), rawJobs);
    const checks: Check[] = [];
    let traces = 0;
    for (const job of jobs) {
      const state = jobState(job);
      let summary = job.failure_reason ?? undefined;
      if (state === 'failure' && traces < MAX_TRACES) {
        traces++;
        summary = (await this.#trace(job.id)) ?? summary;
      }
      checks.push({
        name: job.stage ? `${job.stage}: ${job.name}` : job.name,
        state,
        ...optional('url', job.web_url),
        ...optional('summary', summary),
      });
    }
    return { state: pipelineState(pipeline.status, checks), checks };
  }

  async merge(number: number, method: MergeMethod): Promise<MergeResult> {
    const op = `merge merge request !${number} (${method})`;
    if (method === 'rebase') await this.#rebase(number, op);
    try {
      const merged = await this.#mrs.accept(this.repoPath, number, {
        squash: method === 'squash',
      });
      const mr = parseAnswer(this.#ctx, mrSchema, merged);
      return { sha: mr.squash_commit_sha ?? mr.merge_commit_sha ?? mr.sha ?? undefined };
    } catch (err) {
      const failure = this.#failureOf(err);
      // 405 not mergeable now (draft, closed, pipeline), 406/422 conflicts, 409 SHA moved.
      if ([405, 406, 409, 422].includes(failure.status ?? 0)) {
        throw await notMergeableError(this.#ctx, op, failure, () => this.getPullRequest(number));
      }
      throw mapHttpFailure(this.#ctx, op, failure);
    }
  }

  async comment(number: number, text: string): Promise<void> {
    await this.#call(`comment on merge request !${number}`, () =>
      this.#notes.create(this.repoPath, number, text),
    );
  }

  async addLabel(number: number, label: string): Promise<void> {
    // add_labels creates a project label that does not exist yet.
    await this.#call(`add label "${label}" to merge request !${number}`, () =>
      this.#mrs.edit(this.repoPath, number, { addLabels: label }),
    );
  }

  async deleteBranch(name: string): Promise<boolean> {
    try {
      await this.#branches.remove(this.repoPath, name);
      return true;
    } catch (err) {
      const failure = this.#failureOf(err);
      if (failure.status === 404 && /branch/i.test(failure.message)) return false;
      throw mapHttpFailure(this.#ctx, `delete branch ${name}`, failure);
    }
  }

  /** Asks GitLab to rebase the source branch and waits briefly for it (GitLab rebases in the background). */
  async #rebase(number: number, op: string): Promise<void> {
    await this.#call(op, () => this.#mrs.rebase(this.repoPath, number));
    for (let i = 0; i < REBASE_POLLS; i++) {
      const raw = await this.#call(op, () =>
        this.#mrs.show(this.repoPath, number, { includeRebaseInProgress: true }),
      );
      const mr = parseAnswer(this.#ctx, mrSchema, raw);
      if (mr.rebase_in_progress !== true) {
        if (mr.merge_error) {
          throw forgeError(this.#ctx, 'FORGE_CONFLICT', op, `rebase failed: ${mr.merge_error}`);
        }
        return;
      }
      await this.#options.sleep(REBASE_POLL_MS);
    }
    throw forgeError(
      this.#ctx,
      'FORGE_UNAVAILABLE',
      op,
      'the rebase is still running; retry shortly',
      {
        retryAt: new Date(this.#options.now() + 30_000),
      },
    );
  }

  async #trace(jobId: number): Promise<string | undefined> {
    try {
      const log = await this.#jobs.showLog(this.repoPath, jobId);
      return typeof log === 'string' ? logExcerpt(log) || undefined : undefined;
    } catch {
      // A log we cannot read (expired, no permission) leaves the failure reason as the summary.
      return undefined;
    }
  }

  #mr(data: unknown): PullRequest {
    return toPull(parseAnswer(this.#ctx, mrSchema, data));
  }

  #failureOf(err: unknown): HttpFailure {
    return (
      gitlabFailureOf(err) ?? {
        status: undefined,
        headers: {},
        message: err instanceof Error ? err.message : String(err),
      }
    );
  }

  async #call<T>(op: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw mapHttpFailure(this.#ctx, op, this.#failureOf(err));
    }
  }
}
