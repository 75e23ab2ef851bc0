import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  forgeErrorDetail,
  type Forge,
  type ForgeKind,
  type MergeMethod,
} from '../../src/forge/index.js';
import { AgenticError, type ErrorCode } from '../../src/lib/errors.js';
import { startFakeForge, type FakeForgeHandle } from '../helpers/fake-forges/index.js';

/** What differs between the forges' fakes: check names, log excerpts, how a merge is recorded. */
const EXPECT: Record<
  ForgeKind,
  { failing: string; failingSummary: RegExp; checks: number; merged: Record<MergeMethod, string> }
> = {
  github: {
    failing: 'unit',
    failingSummary: /2 tests failed\nexpected 1 to be 2/,
    checks: 4,
    merged: { merge: 'merge', squash: 'squash', rebase: 'rebase' },
  },
  gitlab: {
    failing: 'test: unit',
    failingSummary: /FAIL math\.test\.ts > adds\n\s*expected 1 to be 2\nERROR: Job failed/,
    checks: 3,
    merged: { merge: 'merge', squash: 'squash', rebase: 'rebase' },
  },
  gitea: {
    failing: 'ci/test',
    failingSummary: /3 tests failed/,
    checks: 3,
    merged: { merge: 'merge', squash: 'squash', rebase: 'rebase' },
  },
  forgejo: {
    failing: 'ci/test',
    failingSummary: /3 tests failed/,
    checks: 3,
    merged: { merge: 'merge', squash: 'squash', rebase: 'rebase' },
  },
};

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe.each(['github', 'gitlab', 'gitea', 'forgejo'] as const)('the %s adapter', (kind) => {
  let fake: FakeForgeHandle;
  let forge: Forge;
  const thrown: unknown[] = [];
  const returned: unknown[] = [];

  async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<AgenticError> {
    const err = await promise.then(
      (value) => {
        throw new Error(`expected ${code}, got ${JSON.stringify(value)}`);
      },
      (e: unknown) => e,
    );
    thrown.push(err);
    expect(err).toBeInstanceOf(AgenticError);
    expect((err as AgenticError).code, (err as Error).message).toBe(code);
    return err as AgenticError;
  }

  async function opened(head: string, title = `[agent/codex] ${head}`): Promise<number> {
    fake.state.pushBranch(head);
    const pr = await forge.openPullRequest({ head, base: 'main', title, body: `body of ${head}` });
    returned.push(pr);
    return pr.number;
  }

  beforeAll(async () => {
    fake = await startFakeForge(kind);
    forge = await fake.forge({ now: () => NOW, sleep: () => Promise.resolve() });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('opens a pull request from the branch into the base with the given title and body', async () => {
    fake.state.pushBranch('agent/task-1');
    const pr = await forge.openPullRequest({
      head: 'agent/task-1',
      base: 'main',
      title: '[agent/codex] add the widget',
      body: 'Closes #7\n\nchanges: 1 commit',
    });
    returned.push(pr);
    expect(pr).toMatchObject({
      created: true,
      state: 'open',
      head: 'agent/task-1',
      base: 'main',
      title: '[agent/codex] add the widget',
      body: 'Closes #7\n\nchanges: 1 commit',
      draft: false,
    });
    expect(pr.url).toMatch(/^https:\/\//);
    const stored = fake.state.pull(pr.number);
    expect(stored).toMatchObject({
      head: 'agent/task-1',
      base: 'main',
      title: '[agent/codex] add the widget',
    });
    expect(stored?.body).toBe('Closes #7\n\nchanges: 1 commit');
  });

  it('finds the open pull request for a branch and updates it instead of opening a second one', async () => {
    const first = await opened('agent/redo');
    const again = await forge.openPullRequest({
      head: 'agent/redo',
      base: 'main',
      title: '[agent/codex] redo, round 2',
      body: 'second delivery',
    });
    expect(again).toMatchObject({
      created: false,
      number: first,
      title: '[agent/codex] redo, round 2',
    });
    expect(fake.state.pulls.filter((p) => p.head === 'agent/redo')).toHaveLength(1);
    expect(fake.state.pull(first)?.body).toBe('second delivery');
    expect(await forge.findPullRequest({ head: 'agent/redo' })).toMatchObject({ number: first });
    expect(await forge.findPullRequest({ head: 'agent/redo', base: 'main' })).toMatchObject({
      number: first,
    });
    expect(await forge.findPullRequest({ head: 'agent/never-opened' })).toBeUndefined();
  });

  it('finds a pull request beyond the first page of results', async () => {
    for (const n of [1, 2, 3, 4]) await opened(`agent/filler-${n}`);
    const last = await opened('agent/far-away');
    expect(await forge.findPullRequest({ head: 'agent/far-away', base: 'main' })).toMatchObject({
      number: last,
      head: 'agent/far-away',
    });
  });

  it('updates the title and body of a pull request', async () => {
    const number = await opened('agent/edit');
    const updated = await forge.updatePullRequest(number, { body: 'new body' });
    expect(updated).toMatchObject({ number, body: 'new body', title: '[agent/codex] agent/edit' });
  });

  it('normalises checks: none configured, pending, green and red with the failing check and its excerpt', async () => {
    const headSha = fake.state.pushBranch('agent/ci');
    expect(await forge.getChecks(headSha)).toEqual({ state: 'none', checks: [] });

    fake.state.checks.set(headSha, 'pending');
    const pending = await forge.getChecks(headSha);
    expect(pending.state).toBe('pending');
    expect(pending.checks).toHaveLength(EXPECT[kind].checks);

    fake.state.checks.set(headSha, 'green');
    const green = await forge.getChecks(headSha);
    expect(green.state).toBe('success');
    expect(green.checks.every((c) => c.state === 'success')).toBe(true);
    expect(green.checks).toHaveLength(EXPECT[kind].checks);

    fake.state.checks.set(headSha, 'red');
    const red = await forge.getChecks(headSha);
    expect(red.state).toBe('failure');
    expect(red.checks).toHaveLength(EXPECT[kind].checks);
    const failing = red.checks.filter((c) => c.state === 'failure');
    expect(failing.map((c) => c.name)).toEqual([EXPECT[kind].failing]);
    expect(failing[0]?.summary).toMatch(EXPECT[kind].failingSummary);
    expect(failing[0]?.summary).not.toContain(String.fromCharCode(27));
    expect(failing[0]?.summary).not.toContain('section_start');
    expect(failing[0]?.url).toMatch(/^https:\/\//);
  });

  it('reads checks by branch name as well as by commit', async () => {
    const headSha = fake.state.pushBranch('agent/by-name');
    fake.state.checks.set(headSha, 'green');
    expect((await forge.getChecks('agent/by-name')).state).toBe('success');
  });

  it.each(['merge', 'squash', 'rebase'] as const)(
    'merges with the %s method, then deletes the branch once',
    async (method) => {
      const number = await opened(`agent/merge-${method}`);
      const result = await forge.merge(number, method);
      returned.push(result);
      const stored = fake.state.pull(number);
      expect(stored?.state).toBe('merged');
      expect(stored?.mergedWith).toBe(EXPECT[kind].merged[method]);
      expect(result.sha).toBe(stored?.mergeCommitSha);
      expect(await forge.getPullRequest(number)).toMatchObject({
        state: 'merged',
        mergeable: false,
      });
      expect(fake.state.branches.has(`agent/merge-${method}`)).toBe(true);
      expect(await forge.deleteBranch(`agent/merge-${method}`)).toBe(true);
      expect(fake.state.branches.has(`agent/merge-${method}`)).toBe(false);
      expect(await forge.deleteBranch(`agent/merge-${method}`)).toBe(false);
    },
  );

  it('comments on a pull request and labels it once however often asked', async () => {
    const number = await opened('agent/review');
    await forge.comment(number, 'Checks failed: unit');
    await forge.addLabel(number, 'needs-review');
    await forge.addLabel(number, 'needs-review');
    expect(fake.state.pull(number)?.comments).toEqual(['Checks failed: unit']);
    expect(fake.state.pull(number)?.labels).toEqual(['needs-review']);
    expect(fake.state.labels.filter((l) => l.name === 'needs-review')).toHaveLength(1);
  });

  it('reports a conflict as FORGE_CONFLICT and shows it on the pull request', async () => {
    const number = await opened('agent/conflict');
    const stored = fake.state.pull(number);
    if (stored) stored.conflict = true;
    const pr = await forge.getPullRequest(number);
    expect(pr.mergeable).toBe(false);
    if (kind === 'github' || kind === 'gitlab') expect(pr.conflict).toBe(true);
    const err = await failure(forge.merge(number, 'merge'), 'FORGE_CONFLICT');
    expect(err.message).toContain(`#${number}`.replace('#', kind === 'gitlab' ? '!' : '#'));
    expect(err.message).toMatch(/rebase agent\/conflict onto main/);
    expect(fake.state.pull(number)?.state).toBe('open');
  });

  it('refuses to merge an already merged pull request with FORGE_PR_CLOSED naming its state', async () => {
    const number = await opened('agent/twice');
    await forge.merge(number, 'squash');
    const err = await failure(forge.merge(number, 'squash'), 'FORGE_PR_CLOSED');
    expect(err.message).toMatch(/already merged/);
    expect(forgeErrorDetail(err)).toMatchObject({ kind, prState: 'merged' });
  });

  it('says which variable holds a refused token (401)', async () => {
    const wrong = await fake.forge({ now: () => NOW }, { [fake.tokenVar]: 'wrong-token-value' });
    const err = await failure(wrong.getPullRequest(1), 'FORGE_AUTH_FAILED');
    expect(err.message).toContain(`$${fake.tokenVar}`);
    expect(err.message).toContain('401');
    expect(err.message).not.toContain('wrong-token-value');
    expect(forgeErrorDetail(err)).toMatchObject({ kind, status: 401 });
  });

  it('maps 403 to FORGE_AUTH_FAILED asking for write access', async () => {
    fake.server.script(fake.error(403, 'Resource not accessible by integration'), {
      method: 'POST',
    });
    const err = await failure(forge.comment(1, 'hello'), 'FORGE_AUTH_FAILED');
    expect(err.message).toMatch(/403.*write access/);
  });

  it('maps a missing pull request to FORGE_NOT_FOUND', async () => {
    const err = await failure(forge.getPullRequest(999), 'FORGE_NOT_FOUND');
    expect(err.message).toMatch(/404/);
    expect(err.message).toContain(
      fake.remoteUrl.includes('tools') ? 'acme/tools/widgets' : 'acme/widgets',
    );
  });

  it('says the base branch is gone when opening against a deleted base', async () => {
    fake.state.pushBranch('agent/orphan');
    const err = await failure(
      forge.openPullRequest({ head: 'agent/orphan', base: 'release-9', title: 't', body: 'b' }),
      'FORGE_NOT_FOUND',
    );
    expect(err.message).toMatch(/release-9.*deleted\?/);
  });

  it('maps 422 to FORGE_REJECTED with the forge message', async () => {
    fake.server.script(fake.error(422, 'Validation Failed: body is too long'), { method: 'PATCH' });
    fake.server.script(fake.error(422, 'Validation Failed: body is too long'), { method: 'PUT' });
    const number = await opened('agent/too-long');
    const err = await failure(forge.updatePullRequest(number, { body: 'x' }), 'FORGE_REJECTED');
    expect(err.message).toContain('body is too long');
    // Leave no unused script behind for later tests.
    fake.server.script({ status: 200 }, { method: 'NOOP' });
  });

  it('returns the retry time of a 429 with Retry-After at once, without retrying itself', async () => {
    const before = fake.server.requests.length;
    fake.server.script(fake.error(429, 'Too Many Requests', { 'retry-after': '120' }));
    const err = await failure(forge.getPullRequest(1), 'FORGE_RATE_LIMITED');
    expect(forgeErrorDetail(err)?.retryAt?.toISOString()).toBe(
      new Date(NOW + 120_000).toISOString(),
    );
    expect(err.message).toContain('2026-03-01T12:02:00.000Z');
    expect(fake.server.requests.length - before).toBe(1);
  });

  it('takes the retry time from the reset header when there is no Retry-After', async () => {
    const reset = Math.floor(NOW / 1000) + 900;
    const headers =
      kind === 'github'
        ? {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-limit': '5000',
            'x-ratelimit-reset': String(reset),
          }
        : kind === 'gitlab'
          ? { 'ratelimit-remaining': '0', 'ratelimit-reset': String(reset) }
          : { 'x-ratelimit-reset': String(reset) };
    // GitHub's primary limit answers 403 with X-RateLimit-Remaining: 0.
    fake.server.script(
      fake.error(kind === 'github' ? 403 : 429, 'API rate limit exceeded', headers),
    );
    const err = await failure(forge.getChecks('main'), 'FORGE_RATE_LIMITED');
    expect(forgeErrorDetail(err)?.retryAt?.getTime()).toBe(reset * 1000);
  });

  it('removes the token from a forge message that repeats it', async () => {
    fake.server.script(fake.error(422, `token ${fake.token} may not do this`), { method: 'POST' });
    const err = await failure(forge.comment(1, 'hi'), 'FORGE_REJECTED');
    expect(err.message).toContain('token *** may not do this');
  });

  it('maps a forge that does not answer to FORGE_UNAVAILABLE', async () => {
    const dead = await startFakeForge(kind);
    const unreachable = await dead.forge({ now: () => NOW });
    await dead.close();
    const err = await failure(unreachable.getPullRequest(1), 'FORGE_UNAVAILABLE');
    expect(err.message).toMatch(/no answer|server error/);
  });

  it('never puts the token in an error, a returned object or the adapter itself', () => {
    expect(thrown.length).toBeGreaterThan(8);
    const views = [...thrown, ...returned, forge].flatMap((value) => [
      inspect(value, { depth: 12, showHidden: true }),
      JSON.stringify(value, value instanceof Error ? Object.getOwnPropertyNames(value) : undefined),
      value instanceof Error ? String(value.stack) : '',
      value instanceof Error ? JSON.stringify(value.cause) : '',
    ]);
    for (const view of views) expect(view).not.toContain(fake.token);
    // The token was really sent, so the check above could have failed.
    expect(JSON.stringify(fake.server.requests.map((r) => r.headers))).toContain(fake.token);
  });
});
