import { FakeForgeServer, linkHeader, pageOf, type FakeRequest, type Reply } from './server.js';
import { FakeRepoState, sha, type FakePull } from './state.js';

/** Pages hold at most this many items whatever `per_page` asks, so clients must follow Link. */
const PAGE_CAP = 2;
const DOCS = 'https://docs.github.com/rest';

/**
 * GitHub's REST API (as GitHub Enterprise serves it under /api/v3) for one repository: pulls,
 * check runs, combined status, merge, issue comments and labels, git refs. Shapes, status codes
 * and Link pagination follow docs.github.com/rest; `Authorization: token|Bearer <token>`.
 */
export class FakeGitHub extends FakeForgeServer {
  readonly state: FakeRepoState;

  constructor(
    readonly token: string,
    owner = 'acme',
    repo = 'widgets',
  ) {
    super('/api/v3', (req) => {
      const auth = String(req.headers['authorization'] ?? '');
      return auth === `token ${token}` || auth === `Bearer ${token}` || auth === `bearer ${token}`
        ? undefined
        : {
            status: 401,
            body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' },
          };
    });
    this.state = new FakeRepoState(owner, repo);
    const r = `^/repos/${owner}/${repo}`;
    this.route('POST', new RegExp(`${r}/pulls$`), (req) => this.createPull(req));
    this.route('GET', new RegExp(`${r}/pulls$`), (req) => this.listPulls(req));
    this.route('GET', new RegExp(`${r}/pulls/(\\d+)$`), (req) =>
      this.withPull(req, (p) => ok(this.pullJson(p))),
    );
    this.route('PATCH', new RegExp(`${r}/pulls/(\\d+)$`), (req) =>
      this.withPull(req, (p) => {
        const body = record(req.body);
        if (typeof body['title'] === 'string') p.title = body['title'];
        if (typeof body['body'] === 'string') p.body = body['body'];
        return ok(this.pullJson(p));
      }),
    );
    this.route('PUT', new RegExp(`${r}/pulls/(\\d+)/merge$`), (req) => this.mergePull(req));
    this.route('GET', new RegExp(`${r}/commits/(.+)/check-runs$`), (req) => this.checkRuns(req));
    this.route('GET', new RegExp(`${r}/commits/(.+)/status$`), (req) => this.combinedStatus(req));
    this.route('POST', new RegExp(`${r}/issues/(\\d+)/comments$`), (req) =>
      this.withPull(req, (p) => {
        p.comments.push(String(record(req.body)['body']));
        return {
          status: 201,
          body: {
            id: p.comments.length,
            body: record(req.body)['body'],
            html_url: `${this.pullUrl(p)}#issuecomment-${p.comments.length}`,
          },
        };
      }),
    );
    this.route('POST', new RegExp(`${r}/issues/(\\d+)/labels$`), (req) =>
      this.withPull(req, (p) => {
        const labels = record(req.body)['labels'];
        for (const name of Array.isArray(labels) ? labels : []) {
          this.state.label(String(name));
          if (!p.labels.includes(String(name))) p.labels.push(String(name));
        }
        return ok(p.labels.map((name) => ({ ...this.state.label(name), default: false })));
      }),
    );
    this.route('DELETE', new RegExp(`${r}/git/refs/(.+)$`), (req) => {
      const ref = req.params[0] ?? '';
      const branch = ref.replace(/^heads\//, '');
      if (!ref.startsWith('heads/') || !this.state.deleteBranch(branch)) {
        return {
          status: 422,
          body: { message: 'Reference does not exist', documentation_url: DOCS, status: '422' },
        };
      }
      return { status: 204 };
    });
  }

  /** A GitHub error body with the given status. */
  static error(status: number, message: string, headers: Record<string, string> = {}): Reply {
    return { status, headers, body: { message, documentation_url: DOCS, status: String(status) } };
  }

  private pullUrl(p: FakePull): string {
    return `https://github.test/${this.state.owner}/${this.state.name}/pull/${p.number}`;
  }

  private pullJson(p: FakePull): Record<string, unknown> {
    const { owner, name } = this.state;
    return {
      url: `${this.apiUrl}/repos/${owner}/${name}/pulls/${p.number}`,
      id: 1000 + p.number,
      number: p.number,
      html_url: this.pullUrl(p),
      state: p.state === 'open' ? 'open' : 'closed',
      locked: false,
      title: p.title,
      body: p.body,
      draft: p.draft,
      merged: p.state === 'merged',
      merged_at: p.state === 'merged' ? '2026-01-01T00:00:00Z' : null,
      merge_commit_sha: p.mergeCommitSha ?? null,
      mergeable: p.state === 'open' ? !p.conflict : null,
      mergeable_state: p.state !== 'open' ? 'unknown' : p.conflict ? 'dirty' : 'clean',
      labels: p.labels.map((l) => this.state.label(l)),
      head: {
        label: `${owner}:${p.head}`,
        ref: p.head,
        sha: p.headSha,
        repo: { full_name: `${owner}/${name}` },
      },
      base: {
        label: `${owner}:${p.base}`,
        ref: p.base,
        sha: this.state.branches.get(p.base) ?? '',
        repo: { full_name: `${owner}/${name}` },
      },
    };
  }

  private withPull(req: FakeRequest, then: (p: FakePull) => Reply): Reply {
    const pull = this.state.pull(Number(req.params[0]));
    return pull ? then(pull) : FakeGitHub.error(404, 'Not Found');
  }

  private createPull(req: FakeRequest): Reply {
    const body = record(req.body);
    const head = String(body['head'] ?? '');
    const base = String(body['base'] ?? '');
    const errors: Array<Record<string, string>> = [];
    if (!this.state.branches.has(base))
      errors.push({ resource: 'PullRequest', field: 'base', code: 'invalid' });
    if (!this.state.branches.has(head))
      errors.push({ resource: 'PullRequest', field: 'head', code: 'invalid' });
    if (errors.length === 0 && this.state.openPullFor(head, base)) {
      errors.push({
        resource: 'PullRequest',
        code: 'custom',
        message: `A pull request already exists for ${this.state.owner}:${head}.`,
      });
    }
    if (errors.length > 0) {
      return {
        status: 422,
        body: { message: 'Validation Failed', errors, documentation_url: DOCS, status: '422' },
      };
    }
    const pull = this.state.openPull({
      head,
      base,
      title: String(body['title'] ?? ''),
      body: String(body['body'] ?? ''),
      draft: body['draft'] === true,
    });
    return {
      status: 201,
      headers: { location: `${this.apiUrl}/repos/x/y/pulls/${pull.number}` },
      body: this.pullJson(pull),
    };
  }

  private listPulls(req: FakeRequest): Reply {
    const state = req.query.get('state') ?? 'open';
    const head = req.query.get('head');
    const base = req.query.get('base');
    const matching = this.state.pulls.filter(
      (p) =>
        (state === 'all' || (state === 'open' ? p.state === 'open' : p.state !== 'open')) &&
        (head === null || `${this.state.owner}:${p.head}` === head) &&
        (base === null || p.base === base),
    );
    return this.paged(
      req,
      matching.map((p) => this.pullJson(p)),
    );
  }

  private mergePull(req: FakeRequest): Reply {
    return this.withPull(req, (p) => {
      const body = record(req.body);
      if (p.state !== 'open' || p.conflict)
        return FakeGitHub.error(405, 'Pull Request is not mergeable');
      if (typeof body['sha'] === 'string' && body['sha'] !== p.headSha) {
        return FakeGitHub.error(409, 'Head branch was modified. Review and try the merge again.');
      }
      const method = String(body['merge_method'] ?? 'merge');
      if (!['merge', 'squash', 'rebase'].includes(method))
        return FakeGitHub.error(422, 'Invalid merge_method');
      const commit = this.state.merge(p, method);
      return ok({ sha: commit, merged: true, message: 'Pull Request successfully merged' });
    });
  }

  private checkRuns(req: FakeRequest): Reply {
    const ref = req.params[0] ?? '';
    const scenario = this.state.scenarioOf(ref);
    const run = (
      id: number,
      name: string,
      status: string,
      conclusion: string | null,
      output: Record<string, unknown> = {},
    ) => ({
      id,
      name,
      head_sha: this.state.branches.get(ref) ?? ref,
      status,
      conclusion,
      html_url: `https://github.test/${this.state.owner}/${this.state.name}/runs/${id}`,
      details_url: `https://ci.test/${id}`,
      started_at: '2026-01-01T00:00:00Z',
      completed_at: status === 'completed' ? '2026-01-01T00:01:00Z' : null,
      output: { title: null, summary: null, text: null, annotations_count: 0, ...output },
      app: { slug: 'github-actions' },
    });
    const runs =
      scenario === 'none'
        ? []
        : scenario === 'pending'
          ? [
              run(1, 'build', 'completed', 'success'),
              run(2, 'unit', 'in_progress', null),
              run(3, 'e2e', 'queued', null),
            ]
          : scenario === 'green'
            ? [
                run(1, 'build', 'completed', 'success'),
                run(2, 'unit', 'completed', 'success'),
                run(3, 'e2e', 'completed', 'skipped'),
              ]
            : [
                run(1, 'build', 'completed', 'success'),
                run(2, 'unit', 'completed', 'failure', {
                  title: '2 tests failed',
                  summary: 'expected 1 to be 2 (math.test.ts:4)',
                }),
                run(3, 'e2e', 'completed', 'success'),
              ];
    const page = Number(req.query.get('page') ?? '1');
    const perPage = Math.min(Number(req.query.get('per_page') ?? '30'), PAGE_CAP);
    const { slice, next, last } = pageOf(runs, page, perPage);
    const link = linkHeader(this.origin, req, page, next, last);
    return {
      status: 200,
      headers: link ? { link } : {},
      body: { total_count: runs.length, check_runs: slice },
    };
  }

  private combinedStatus(req: FakeRequest): Reply {
    const ref = req.params[0] ?? '';
    const scenario = this.state.scenarioOf(ref);
    const state = scenario === 'pending' ? 'pending' : scenario === 'none' ? 'pending' : 'success';
    const statuses =
      scenario === 'none'
        ? []
        : [
            {
              id: 1,
              context: 'ci/lint',
              state,
              description: state === 'success' ? 'lint passed' : 'lint running',
              target_url: 'https://ci.test/lint',
              created_at: '2026-01-01T00:00:00Z',
            },
          ];
    // No statuses at all: GitHub still answers state "pending" with total_count 0.
    return ok({
      state,
      statuses,
      sha: this.state.branches.get(ref) ?? ref,
      total_count: statuses.length,
      repository: { full_name: `${this.state.owner}/${this.state.name}` },
    });
  }

  private paged(req: FakeRequest, items: unknown[]): Reply {
    const page = Number(req.query.get('page') ?? '1');
    const perPage = Math.min(Number(req.query.get('per_page') ?? '30'), PAGE_CAP);
    const { slice, next, last } = pageOf(items, page, perPage);
    const link = linkHeader(this.origin, req, page, next, last);
    return { status: 200, headers: link ? { link } : {}, body: slice };
  }
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

export { sha };
