import { FakeForgeServer, linkHeader, pageOf, type FakeRequest, type Reply } from './server.js';
import { FakeRepoState, sha, type FakePull } from './state.js';

/** Pages hold at most this many items whatever `per_page` asks, so clients must follow Link. */
const PAGE_CAP = 2;
/** One pipeline per scenario, so its jobs can be told apart. */
const PIPELINE_IDS = { pending: 81, green: 82, red: 83 } as const;

/**
 * GitLab's REST API v4 for one project (addressed by its URL-encoded path): merge requests,
 * notes, merge/rebase, pipelines, jobs and job traces, branches. Shapes, status codes and
 * offset pagination headers (X-Total, X-Next-Page, Link) follow docs.gitlab.com/api;
 * `PRIVATE-TOKEN: <token>`.
 */
export class FakeGitLab extends FakeForgeServer {
  readonly state: FakeRepoState;
  /** How many more polls a requested rebase stays `rebase_in_progress`. */
  rebasePolls = 1;
  private rebasing = new Map<number, number>();

  constructor(
    readonly token: string,
    owner = 'acme/tools',
    repo = 'widgets',
  ) {
    super('/api/v4', (req) =>
      req.headers['private-token'] === token
        ? undefined
        : FakeGitLab.error(401, '401 Unauthorized'),
    );
    this.state = new FakeRepoState(owner, repo);
    const p = `^/projects/${encodeURIComponent(`${owner}/${repo}`)}`;
    const mr = `${p}/merge_requests/(\\d+)`;
    this.route('POST', new RegExp(`${p}/merge_requests$`), (req) => this.createMr(req));
    this.route('GET', new RegExp(`${p}/merge_requests$`), (req) => this.listMrs(req));
    this.route('GET', new RegExp(`${mr}$`), (req) =>
      this.withMr(req, (m) => ok(this.mrJson(m, req))),
    );
    this.route('PUT', new RegExp(`${mr}$`), (req) =>
      this.withMr(req, (m) => {
        const body = record(req.body);
        if (typeof body['title'] === 'string') m.title = body['title'];
        if (typeof body['description'] === 'string') m.body = body['description'];
        if (typeof body['add_labels'] === 'string') {
          for (const l of body['add_labels'].split(',')) {
            // GitLab creates a project label that does not exist yet.
            this.state.label(l);
            if (!m.labels.includes(l)) m.labels.push(l);
          }
        }
        return ok(this.mrJson(m, req));
      }),
    );
    this.route('PUT', new RegExp(`${mr}/merge$`), (req) => this.mergeMr(req));
    this.route('PUT', new RegExp(`${mr}/rebase$`), (req) =>
      this.withMr(req, (m) => {
        this.rebasing.set(m.number, this.rebasePolls);
        return { status: 202, body: { rebase_in_progress: true } };
      }),
    );
    this.route('POST', new RegExp(`${mr}/notes$`), (req) =>
      this.withMr(req, (m) => {
        m.comments.push(String(record(req.body)['body']));
        return {
          status: 201,
          body: {
            id: m.comments.length,
            body: record(req.body)['body'],
            noteable_iid: m.number,
            system: false,
          },
        };
      }),
    );
    this.route('DELETE', new RegExp(`${p}/repository/branches/(.+)$`), (req) =>
      this.state.deleteBranch(req.params[0] ?? '')
        ? { status: 204 }
        : FakeGitLab.error(404, '404 Branch Not Found'),
    );
    this.route('GET', new RegExp(`${p}/pipelines$`), (req) => this.listPipelines(req));
    this.route('GET', new RegExp(`${p}/pipelines/(\\d+)/jobs$`), (req) => this.listJobs(req));
    this.route('GET', new RegExp(`${p}/jobs/(\\d+)/trace$`), (req) =>
      req.params[0] === '12'
        ? {
            status: 200,
            text: '\u001b[0;32mRunning tests\u001b[0m\nsection_start:1700000000:step_script\r\n  FAIL math.test.ts > adds\n  expected 1 to be 2\nsection_end:1700000001:step_script\r\nERROR: Job failed: exit code 1\n',
          }
        : { status: 200, text: 'ok\n' },
    );
    // Anything else under /projects/… (another project): GitLab's 404.
    this.route('GET', /^\/projects\//, () => FakeGitLab.error(404, '404 Project Not Found'));
    this.route('POST', /^\/projects\//, () => FakeGitLab.error(404, '404 Project Not Found'));
  }

  /** A GitLab error body (`{"message": …}`) with the given status. */
  static error(
    status: number,
    message: string | string[] | Record<string, string[]>,
    headers: Record<string, string> = {},
  ): Reply {
    return { status, headers, body: { message } };
  }

  private mrJson(m: FakePull, req?: FakeRequest): Record<string, unknown> {
    const json: Record<string, unknown> = {
      id: 5000 + m.number,
      iid: m.number,
      project_id: 42,
      title: m.title,
      description: m.body,
      state: m.state === 'open' ? 'opened' : m.state,
      source_branch: m.head,
      target_branch: m.base,
      draft: m.draft || /^(draft:|\[draft\]|\(draft\))/i.test(m.title),
      work_in_progress: m.draft,
      sha: m.headSha,
      merge_commit_sha: m.mergedWith === 'squash' ? null : (m.mergeCommitSha ?? null),
      squash_commit_sha: m.mergedWith === 'squash' ? (m.mergeCommitSha ?? null) : null,
      squash: m.mergedWith === 'squash',
      has_conflicts: m.conflict,
      merge_status: m.conflict ? 'cannot_be_merged' : 'can_be_merged',
      detailed_merge_status:
        m.state !== 'open' ? 'not_open' : m.conflict ? 'conflict' : 'mergeable',
      labels: m.labels,
      web_url: `https://gitlab.test/${this.state.owner}/${this.state.name}/-/merge_requests/${m.number}`,
      references: { short: `!${m.number}` },
    };
    if (req?.query.get('include_rebase_in_progress') === 'true') {
      const left = this.rebasing.get(m.number);
      json['rebase_in_progress'] = left !== undefined && left > 0;
      if (left !== undefined) this.rebasing.set(m.number, left - 1);
      json['merge_error'] = null;
    }
    return json;
  }

  private withMr(req: FakeRequest, then: (m: FakePull) => Reply): Reply {
    const m = this.state.pull(Number(req.params[0]));
    return m ? then(m) : FakeGitLab.error(404, '404 Not found');
  }

  private createMr(req: FakeRequest): Reply {
    const body = record(req.body);
    const head = String(body['source_branch'] ?? '');
    const base = String(body['target_branch'] ?? '');
    if (!head || !base || !body['title'])
      return FakeGitLab.error(400, '400 Bad request - title is missing');
    // Validation errors come as a map of field → messages (400).
    if (!this.state.branches.has(base))
      return FakeGitLab.error(400, { target_branch: ['is invalid'] });
    if (!this.state.branches.has(head))
      return FakeGitLab.error(400, { source_branch: ['does not exist'] });
    const existing = this.state.openPullFor(head, base);
    if (existing) {
      return FakeGitLab.error(409, [
        `Another open merge request already exists for this source branch: !${existing.number}`,
      ]);
    }
    const title = String(body['title']);
    const m = this.state.openPull({
      head,
      base,
      title,
      body: String(body['description'] ?? ''),
      draft: /^draft:/i.test(title),
    });
    return { status: 201, body: this.mrJson(m) };
  }

  private listMrs(req: FakeRequest): Reply {
    const state = req.query.get('state');
    const source = req.query.get('source_branch');
    const target = req.query.get('target_branch');
    const matching = this.state.pulls.filter(
      (m) =>
        (state === null ||
          state === 'all' ||
          (state === 'opened' ? m.state === 'open' : m.state === state)) &&
        (source === null || m.head === source) &&
        (target === null || m.base === target),
    );
    return this.paged(
      req,
      matching.reverse().map((m) => this.mrJson(m)),
    );
  }

  private mergeMr(req: FakeRequest): Reply {
    return this.withMr(req, (m) => {
      const body = record(req.body);
      if (m.state !== 'open' || m.draft) return FakeGitLab.error(405, '405 Method Not Allowed');
      if (m.conflict) return FakeGitLab.error(422, 'Branch cannot be merged');
      if (typeof body['sha'] === 'string' && body['sha'] !== m.headSha) {
        return FakeGitLab.error(409, 'SHA does not match HEAD of source branch');
      }
      const how =
        body['squash'] === true ? 'squash' : this.rebasing.has(m.number) ? 'rebase' : 'merge';
      this.rebasing.delete(m.number);
      this.state.merge(m, how);
      return ok(this.mrJson(m));
    });
  }

  private listPipelines(req: FakeRequest): Reply {
    const ref = req.query.get('sha') ?? req.query.get('ref') ?? '';
    const scenario = this.state.scenarioOf(ref);
    if (scenario === 'none') return this.paged(req, []);
    const status = scenario === 'pending' ? 'running' : scenario === 'green' ? 'success' : 'failed';
    const pipeline = {
      id: PIPELINE_IDS[scenario],
      iid: 7,
      project_id: 42,
      sha: this.state.branches.get(ref) ?? ref,
      ref: req.query.get('ref') ?? 'agent/x',
      status,
      source: 'push',
      web_url: `https://gitlab.test/${this.state.owner}/${this.state.name}/-/pipelines/${PIPELINE_IDS[scenario]}`,
    };
    // An older pipeline first in storage: clients must ask for order_by=id&sort=desc.
    const older = { ...pipeline, id: 70, status: 'success' };
    const sorted =
      req.query.get('order_by') === 'id' && req.query.get('sort') === 'desc'
        ? [pipeline, older]
        : [older, pipeline];
    return this.paged(req, sorted);
  }

  private listJobs(req: FakeRequest): Reply {
    const id = Number(req.params[0]);
    const scenario =
      (Object.keys(PIPELINE_IDS) as Array<keyof typeof PIPELINE_IDS>).find(
        (k) => PIPELINE_IDS[k] === id,
      ) ?? 'green';
    const job = (
      id: number,
      stage: string,
      name: string,
      status: string,
      extra: Record<string, unknown> = {},
    ) => ({
      id,
      name,
      stage,
      status,
      allow_failure: false,
      failure_reason: status === 'failed' ? 'script_failure' : undefined,
      web_url: `https://gitlab.test/${this.state.owner}/${this.state.name}/-/jobs/${id}`,
      pipeline: { id },
      ...extra,
    });
    const jobs =
      scenario === 'pending'
        ? [
            job(11, 'build', 'compile', 'success'),
            job(12, 'test', 'unit', 'running'),
            job(13, 'test', 'lint', 'pending'),
          ]
        : scenario === 'green'
          ? [
              job(11, 'build', 'compile', 'success'),
              job(12, 'test', 'unit', 'success'),
              job(13, 'deploy', 'review', 'manual'),
            ]
          : [
              job(11, 'build', 'compile', 'success'),
              job(12, 'test', 'unit', 'failed'),
              job(13, 'test', 'flaky', 'failed', { allow_failure: true }),
            ];
    return this.paged(req, jobs);
  }

  private paged(req: FakeRequest, items: unknown[]): Reply {
    const page = Number(req.query.get('page') ?? '1');
    const perPage = Math.min(Number(req.query.get('per_page') ?? '20'), PAGE_CAP);
    const { slice, next, last } = pageOf(items, page, perPage);
    const headers: Record<string, string> = {
      'x-total': String(items.length),
      'x-total-pages': String(last),
      'x-per-page': String(perPage),
      'x-page': String(page),
      'x-next-page': next === undefined ? '' : String(next),
      'x-prev-page': page > 1 ? String(page - 1) : '',
    };
    const link = linkHeader(this.origin, req, page, next, last);
    if (link) headers['link'] = link;
    return { status: 200, headers, body: slice };
  }
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

export { sha };
