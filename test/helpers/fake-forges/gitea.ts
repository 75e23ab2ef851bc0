import { FakeForgeServer, linkHeader, pageOf, type FakeRequest, type Reply } from './server.js';
import { FakeRepoState, sha, type FakePull } from './state.js';

/** Pages hold at most this many items whatever `limit` asks, so clients must follow Link. */
const PAGE_CAP = 2;

/**
 * Gitea's (and Forgejo's) REST API /api/v1 for one repository: pulls, merge (`Do`), combined
 * commit status, issue comments, repository and issue labels (by id), branches. Shapes, status
 * codes and pagination (Link, X-Total-Count) follow Gitea's swagger; `Authorization: token <t>`.
 */
export class FakeGitea extends FakeForgeServer {
  readonly state: FakeRepoState;

  constructor(
    readonly token: string,
    owner = 'acme',
    repo = 'widgets',
  ) {
    super('/api/v1', (req) =>
      req.headers['authorization'] === `token ${token}`
        ? undefined
        : FakeGitea.error(401, 'user does not exist [uid: 0, name: ]'),
    );
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
        // Gitea answers an edited pull request with 201.
        return { status: 201, body: this.pullJson(p) };
      }),
    );
    this.route('POST', new RegExp(`${r}/pulls/(\\d+)/merge$`), (req) => this.mergePull(req));
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
    this.route('GET', new RegExp(`${r}/labels$`), (req) =>
      this.paged(
        req,
        this.state.labels.map((l) => ({ ...l, color: l.color })),
      ),
    );
    this.route('POST', new RegExp(`${r}/labels$`), (req) => {
      const body = record(req.body);
      const name = String(body['name'] ?? '');
      if (this.state.labels.some((l) => l.name === name))
        return FakeGitea.error(409, 'label already exists');
      const label = this.state.label(name);
      label.color = String(body['color'] ?? '').replace(/^#/, '');
      return { status: 201, body: label };
    });
    this.route('POST', new RegExp(`${r}/issues/(\\d+)/labels$`), (req) =>
      this.withPull(req, (p) => {
        const ids = record(req.body)['labels'];
        for (const id of Array.isArray(ids) ? ids : []) {
          const label = this.state.labels.find((l) => l.id === id);
          if (!label) return FakeGitea.error(422, `label does not exist [id: ${String(id)}]`);
          if (!p.labels.includes(label.name)) p.labels.push(label.name);
        }
        return ok(p.labels.map((name) => this.state.label(name)));
      }),
    );
    this.route('DELETE', new RegExp(`${r}/branches/(.+)$`), (req) =>
      this.state.deleteBranch(req.params[0] ?? '')
        ? { status: 204 }
        : FakeGitea.error(404, "The target couldn't be found."),
    );
  }

  /** A Gitea API error body (`{message, url}`) with the given status. */
  static error(status: number, message: string, headers: Record<string, string> = {}): Reply {
    return { status, headers, body: { message, url: 'https://gitea.test/api/swagger' } };
  }

  private pullUrl(p: FakePull): string {
    return `https://gitea.test/${this.state.owner}/${this.state.name}/pulls/${p.number}`;
  }

  private pullJson(p: FakePull): Record<string, unknown> {
    const { owner, name } = this.state;
    return {
      id: 900 + p.number,
      number: p.number,
      url: this.pullUrl(p),
      html_url: this.pullUrl(p),
      state: p.state === 'open' ? 'open' : 'closed',
      title: p.title,
      body: p.body,
      draft: /^\s*(WIP:|\[WIP\])/i.test(p.title),
      mergeable: p.state === 'open' && !p.conflict,
      merged: p.state === 'merged',
      merged_at: p.state === 'merged' ? '2026-01-01T00:00:00Z' : null,
      merge_commit_sha: p.mergeCommitSha ?? null,
      labels: p.labels.map((l) => this.state.label(l)),
      head: {
        label: p.head,
        ref: p.head,
        sha: p.headSha,
        repo_id: 1,
        repo: { full_name: `${owner}/${name}` },
      },
      base: {
        label: p.base,
        ref: p.base,
        sha: this.state.branches.get(p.base) ?? '',
        repo_id: 1,
        repo: { full_name: `${owner}/${name}` },
      },
    };
  }

  private withPull(req: FakeRequest, then: (p: FakePull) => Reply): Reply {
    const pull = this.state.pull(Number(req.params[0]));
    return pull ? then(pull) : FakeGitea.error(404, "The target couldn't be found.");
  }

  private createPull(req: FakeRequest): Reply {
    const body = record(req.body);
    const head = String(body['head'] ?? '');
    const base = String(body['base'] ?? '');
    if (!this.state.branches.has(base) || !this.state.branches.has(head)) {
      return FakeGitea.error(404, "The target couldn't be found.");
    }
    const existing = this.state.openPullFor(head, base);
    if (existing) {
      return FakeGitea.error(
        409,
        `pull request already exists for these targets [id: ${existing.number}, issue_id: ${existing.number}, head_repo_id: 1, base_repo_id: 1, head_branch: ${head}, base_branch: ${base}]`,
      );
    }
    const pull = this.state.openPull({
      head,
      base,
      title: String(body['title'] ?? ''),
      body: String(body['body'] ?? ''),
    });
    return { status: 201, body: this.pullJson(pull) };
  }

  private listPulls(req: FakeRequest): Reply {
    const state = req.query.get('state') ?? 'open';
    const matching = this.state.pulls.filter(
      (p) => state === 'all' || (state === 'open' ? p.state === 'open' : p.state !== 'open'),
    );
    return this.paged(
      req,
      matching.map((p) => this.pullJson(p)),
    );
  }

  private mergePull(req: FakeRequest): Reply {
    return this.withPull(req, (p) => {
      const style = String(record(req.body)['Do'] ?? '');
      if (
        ![
          'merge',
          'rebase',
          'rebase-merge',
          'squash',
          'fast-forward-only',
          'manually-merged',
        ].includes(style)
      ) {
        return FakeGitea.error(422, '[Do]: Required');
      }
      if (p.state === 'merged') return FakeGitea.error(405, 'The PR is already merged');
      if (p.state !== 'open') return FakeGitea.error(405, 'Please try again later');
      if (p.conflict) return FakeGitea.error(409, 'Merge Conflict');
      this.state.merge(p, style);
      return { status: 200 };
    });
  }

  private combinedStatus(req: FakeRequest): Reply {
    const ref = req.params[0] ?? '';
    const scenario = this.state.scenarioOf(ref);
    const status = (id: number, context: string, state: string, description: string) => ({
      id,
      context,
      state,
      status: state,
      description,
      target_url: `https://ci.test/${id}`,
      created_at: '2026-01-01T00:00:00Z',
    });
    const statuses =
      scenario === 'none'
        ? []
        : scenario === 'pending'
          ? [
              status(1, 'ci/build', 'success', 'built'),
              status(2, 'ci/test', 'pending', 'running'),
              status(3, 'ci/lint', 'warning', 'style warnings'),
            ]
          : scenario === 'green'
            ? [
                status(1, 'ci/build', 'success', 'built'),
                status(2, 'ci/test', 'success', 'passed'),
                status(3, 'ci/lint', 'warning', 'style warnings'),
              ]
            : [
                status(1, 'ci/build', 'success', 'built'),
                status(2, 'ci/test', 'failure', '3 tests failed'),
                status(3, 'ci/lint', 'success', 'clean'),
              ];
    const combined =
      scenario === 'none'
        ? ''
        : scenario === 'pending'
          ? 'pending'
          : scenario === 'green'
            ? 'success'
            : 'failure';
    const page = Number(req.query.get('page') ?? '1');
    const limit = Math.min(Number(req.query.get('limit') ?? '30'), PAGE_CAP);
    const { slice, next, last } = pageOf(statuses, page, limit);
    const link = linkHeader(this.origin, req, page, next, last);
    const headers: Record<string, string> = { 'x-total-count': String(statuses.length) };
    if (link) headers['link'] = link;
    return {
      status: 200,
      headers,
      body: {
        state: combined,
        sha: this.state.branches.get(ref) ?? ref,
        total_count: statuses.length,
        statuses: slice,
        repository: { full_name: `${this.state.owner}/${this.state.name}` },
      },
    };
  }

  private paged(req: FakeRequest, items: unknown[]): Reply {
    const page = Number(req.query.get('page') ?? '1');
    const limit = Math.min(Number(req.query.get('limit') ?? '30'), PAGE_CAP);
    const { slice, next, last } = pageOf(items, page, limit);
    const headers: Record<string, string> = { 'x-total-count': String(items.length) };
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
