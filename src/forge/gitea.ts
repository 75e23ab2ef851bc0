import { z } from 'zod';
import type { AgenticError } from '../lib/errors.js';
import { failureContext, parseAnswer, saysAlreadyExists, type AdapterOptions } from './adapter.js';
import { combineChecks, optional } from './checks.js';
import { forgeError, mapHttpFailure, notMergeableError, type FailureContext } from './errors.js';
import { nextLink, sendRequest, type HttpResult } from './http.js';
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

const pullSchema = z.looseObject({
  number: z.number().int(),
  html_url: z.string(),
  state: z.string(),
  merged: z.boolean().nullish(),
  mergeable: z.boolean().nullish(),
  draft: z.boolean().nullish(),
  title: z.string(),
  body: z.string().nullish(),
  merge_commit_sha: z.string().nullish(),
  head: z.looseObject({ ref: z.string(), sha: z.string().nullish() }),
  base: z.looseObject({ ref: z.string() }),
});
const statusSchema = z.looseObject({
  context: z.string().nullish(),
  state: z.string(),
  description: z.string().nullish(),
  target_url: z.string().nullish(),
});
const combinedStatusSchema = z.looseObject({
  statuses: z.array(statusSchema).nullish(),
});
const labelSchema = z.looseObject({ id: z.number().int(), name: z.string() });

/** Pages read at most when listing (50 items a page). */
const MAX_PAGES = 20;
const PAGE_SIZE = 50;
/** Gitea/Forgejo merge styles (`Do`) for our methods; `rebase` fast-forwards onto the base. */
const MERGE_STYLES: Record<MergeMethod, string> = {
  merge: 'merge',
  squash: 'squash',
  rebase: 'rebase',
};

/** Gitea and Forgejo over their REST API (`/api/v1`), with the injected fetch and `Authorization: token …`. */
export class GiteaForge implements Forge {
  readonly kind: 'gitea' | 'forgejo';
  readonly host: string;
  readonly repoPath: string;
  readonly #options: AdapterOptions;
  readonly #ctx: FailureContext;
  readonly #base: string;

  constructor(kind: 'gitea' | 'forgejo', options: AdapterOptions) {
    this.kind = kind;
    this.host = options.host;
    this.repoPath = `${options.owner}/${options.repo}`;
    this.#options = options;
    this.#ctx = failureContext(kind, options);
    // Gitea has no nested namespaces: behind a sub-path the owner is the last segment.
    const owner = options.owner.split('/').pop() ?? options.owner;
    this.#base = `${options.apiUrl.replace(/\/+$/, '')}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(options.repo)}`;
  }

  async openPullRequest(input: OpenPullRequestInput): Promise<OpenedPullRequest> {
    const op = `open pull request ${input.head} → ${input.base}`;
    const title = input.draft === true ? `WIP: ${input.title}` : input.title;
    const result = await this.#send('POST', '/pulls', {
      head: input.head,
      base: input.base,
      title,
      body: input.body,
    });
    if (result.ok) return { ...toPull(this.#parse(pullSchema, result.body)), created: true };
    const { failure } = result;
    if (failure.status === 409 || (failure.status === 422 && saysAlreadyExists(failure.message))) {
      const existing = await this.findPullRequest({ head: input.head, base: input.base });
      if (existing !== undefined) {
        const updated = await this.updatePullRequest(existing.number, { title, body: input.body });
        return { ...updated, created: false };
      }
    }
    if (failure.status === 404) {
      throw forgeError(
        this.#ctx,
        'FORGE_NOT_FOUND',
        op,
        `not found (404): ${failure.message || 'no such repository or branch'}; check that ${this.repoPath} exists and that both ${input.head} (pushed?) and the base branch ${input.base} (deleted?) are on the forge`,
        { status: 404 },
      );
    }
    throw this.#fail(op, result);
  }

  async updatePullRequest(
    number: number,
    change: { title?: string; body?: string },
  ): Promise<PullRequest> {
    const result = await this.#send('PATCH', `/pulls/${number}`, {
      ...optional('title', change.title),
      ...optional('body', change.body),
    });
    if (!result.ok) throw this.#fail(`update pull request #${number}`, result);
    return toPull(this.#parse(pullSchema, result.body));
  }

  async findPullRequest(query: { head: string; base?: string }): Promise<PullRequest | undefined> {
    let url: string | undefined = `${this.#base}/pulls?state=open&page=1&limit=${PAGE_SIZE}`;
    for (let page = 0; url !== undefined && page < MAX_PAGES; page++) {
      const result = await this.#sendUrl('GET', url);
      if (!result.ok) throw this.#fail(`find pull request for ${query.head}`, result);
      const pulls = this.#parse(z.array(pullSchema), result.body).map(toPull);
      const hit = pulls.find(
        (p) => p.head === query.head && (query.base === undefined || p.base === query.base),
      );
      if (hit !== undefined) return hit;
      url = pulls.length === 0 ? undefined : nextLink(result.headers['link']);
    }
    return undefined;
  }

  async getPullRequest(number: number): Promise<PullRequest> {
    const result = await this.#send('GET', `/pulls/${number}`);
    if (!result.ok) throw this.#fail(`get pull request #${number}`, result);
    return toPull(this.#parse(pullSchema, result.body));
  }

  async getChecks(ref: string): Promise<ChecksReport> {
    const checks: Check[] = [];
    let url: string | undefined =
      `${this.#base}/commits/${encodeURIComponent(ref)}/status?page=1&limit=${PAGE_SIZE}`;
    for (let page = 0; url !== undefined && page < MAX_PAGES; page++) {
      const result = await this.#sendUrl('GET', url);
      if (!result.ok) throw this.#fail(`get checks of ${ref}`, result);
      const statuses = this.#parse(combinedStatusSchema, result.body).statuses ?? [];
      for (const s of statuses) {
        checks.push({
          name: s.context ?? 'status',
          state: statusState(s.state),
          ...optional('url', s.target_url),
          ...optional('summary', s.description),
        });
      }
      url = statuses.length === 0 ? undefined : nextLink(result.headers['link']);
    }
    return { state: combineChecks(checks), checks };
  }

  async merge(number: number, method: MergeMethod): Promise<MergeResult> {
    const op = `merge pull request #${number} (${method})`;
    const result = await this.#send('POST', `/pulls/${number}/merge`, {
      Do: MERGE_STYLES[method],
      delete_branch_after_merge: false,
    });
    if (!result.ok) {
      const { status } = result.failure;
      if (status === 405 || status === 409 || status === 422) {
        throw await notMergeableError(this.#ctx, op, result.failure, () =>
          this.getPullRequest(number),
        );
      }
      throw this.#fail(op, result);
    }
    const merged = await this.#send('GET', `/pulls/${number}`);
    const sha = merged.ok ? this.#parse(pullSchema, merged.body).merge_commit_sha : undefined;
    return { sha: sha ?? undefined };
  }

  async comment(number: number, text: string): Promise<void> {
    const result = await this.#send('POST', `/issues/${number}/comments`, { body: text });
    if (!result.ok) throw this.#fail(`comment on pull request #${number}`, result);
  }

  async addLabel(number: number, label: string): Promise<void> {
    const op = `add label "${label}" to pull request #${number}`;
    const id = (await this.#findLabel(label, op)) ?? (await this.#createLabel(label, op));
    const result = await this.#send('POST', `/issues/${number}/labels`, { labels: [id] });
    if (!result.ok) throw this.#fail(op, result);
  }

  async deleteBranch(name: string): Promise<boolean> {
    const result = await this.#send('DELETE', `/branches/${encodeURIComponent(name)}`);
    if (result.ok) return true;
    if (result.failure.status === 404) return false;
    throw this.#fail(`delete branch ${name}`, result);
  }

  async #findLabel(label: string, op: string): Promise<number | undefined> {
    let url: string | undefined = `${this.#base}/labels?page=1&limit=${PAGE_SIZE}`;
    for (let page = 0; url !== undefined && page < MAX_PAGES; page++) {
      const result = await this.#sendUrl('GET', url);
      if (!result.ok) throw this.#fail(op, result);
      const labels = this.#parse(z.array(labelSchema), result.body);
      const hit = labels.find((l) => l.name === label);
      if (hit !== undefined) return hit.id;
      url = labels.length === 0 ? undefined : nextLink(result.headers['link']);
    }
    return undefined;
  }

  async #createLabel(label: string, op: string): Promise<number> {
    const result = await this.#send('POST', '/labels', { name: label, color: '#d93f0b' });
    if (!result.ok) throw this.#fail(op, result);
    return this.#parse(labelSchema, result.body).id;
  }

  #send(method: string, path: string, body?: unknown): Promise<HttpResult> {
    return this.#sendUrl(method, `${this.#base}${path}`, body);
  }

  #sendUrl(method: string, url: string, body?: unknown): Promise<HttpResult> {
    return sendRequest(this.#options.fetch, url, {
      method,
      headers: { accept: 'application/json', authorization: `token ${this.#options.token}` },
      ...(body === undefined ? {} : { body }),
    });
  }

  #parse<T>(schema: z.ZodType<T>, body: unknown): T {
    return parseAnswer(this.#ctx, schema, body);
  }

  #fail(op: string, result: HttpResult & { ok: false }): AgenticError {
    return mapHttpFailure(this.#ctx, op, result.failure);
  }
}

function toPull(p: z.infer<typeof pullSchema>): PullRequest {
  const state = p.merged === true ? 'merged' : p.state === 'open' ? 'open' : 'closed';
  return {
    number: p.number,
    url: p.html_url,
    state,
    draft: p.draft === true || /^\s*(WIP:|\[WIP\])/i.test(p.title),
    title: p.title,
    body: p.body ?? '',
    head: p.head.ref,
    headSha: p.head.sha ?? '',
    base: p.base.ref,
    mergeable: state === 'open' ? (p.mergeable ?? undefined) : false,
    // Gitea/Forgejo report only `mergeable`; a conflict is one reason it is false.
    conflict: undefined,
  };
}

/** Gitea commit status states: pending, success, error, failure, warning (warning does not block). */
function statusState(state: string): Check['state'] {
  if (state === 'success' || state === 'warning') return 'success';
  if (state === 'error' || state === 'failure') return 'failure';
  return 'pending';
}
