import { afterEach, describe, expect, it } from 'vitest';
import { forgeErrorDetail } from '../../src/forge/index.js';
import { AgenticError } from '../../src/lib/errors.js';
import { FakeGitLab, startFakeForge, type FakeForgeHandle } from '../helpers/fake-forges/index.js';

// What each adapter puts on the wire, beyond the behaviour the shared suite checks.
let fake: FakeForgeHandle | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('GitHub requests', () => {
  it('sends the token as Authorization, a draft flag, a head filter and merge_method', async () => {
    fake = await startFakeForge('github');
    const forge = await fake.forge();
    const headSha = fake.state.pushBranch('agent/d');
    const pr = await forge.openPullRequest({
      head: 'agent/d',
      base: 'main',
      title: 'T',
      body: 'B',
      draft: true,
    });
    expect(pr.draft).toBe(true);
    const [create] = fake.server.sent('POST', /\/pulls$/);
    expect(create?.headers['authorization']).toBe(`token ${fake.token}`);
    expect(create?.body).toEqual({
      head: 'agent/d',
      base: 'main',
      title: 'T',
      body: 'B',
      draft: true,
    });

    await forge.findPullRequest({ head: 'agent/d' });
    expect(fake.server.sent('GET', /\/pulls$/)[0]?.query.get('head')).toBe('acme:agent/d');

    fake.state.checks.set(headSha, 'red');
    await forge.getChecks(headSha);
    const runs = fake.server.sent('GET', /\/check-runs$/);
    expect(runs.map((r) => r.query.get('page') ?? '1')).toEqual(['1', '2']);
    expect(runs[0]?.query.get('filter')).toBe('latest');

    await forge.merge(pr.number, 'squash');
    expect(fake.server.sent('PUT', /\/merge$/)[0]?.body).toEqual({ merge_method: 'squash' });
  });
});

describe('GitHub rate limits', () => {
  it('treats a 403 secondary rate limit without headers as rate-limited for a minute', async () => {
    fake = await startFakeForge('github');
    const forge = await fake.forge({ now: () => 5_000_000 });
    fake.server.script({
      status: 403,
      body: {
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      },
    });
    const err = await forge.getPullRequest(1).catch((e: unknown) => e);
    expect((err as AgenticError).code).toBe('FORGE_RATE_LIMITED');
    expect(forgeErrorDetail(err)?.retryAt?.getTime()).toBe(5_060_000);
  });

  it('keeps the Retry-After of a 503 on FORGE_UNAVAILABLE', async () => {
    fake = await startFakeForge('github');
    const forge = await fake.forge({ now: () => 5_000_000 });
    fake.server.script({
      status: 503,
      headers: { 'retry-after': '30' },
      body: { message: 'Service Unavailable' },
    });
    const err = await forge.getPullRequest(1).catch((e: unknown) => e);
    expect((err as AgenticError).code).toBe('FORGE_UNAVAILABLE');
    expect(forgeErrorDetail(err)?.retryAt?.getTime()).toBe(5_030_000);
  });
});

describe('GitLab requests', () => {
  it('sends PRIVATE-TOKEN, source/target branches, a Draft: title and the squash flag', async () => {
    fake = await startFakeForge('gitlab');
    const forge = await fake.forge();
    fake.state.pushBranch('agent/d');
    const pr = await forge.openPullRequest({
      head: 'agent/d',
      base: 'main',
      title: 'T',
      body: 'B',
      draft: true,
    });
    expect(pr).toMatchObject({ draft: true, title: 'Draft: T' });
    const [create] = fake.server.sent('POST', /\/merge_requests$/);
    expect(create?.path).toBe('/api/v4/projects/acme%2Ftools%2Fwidgets/merge_requests');
    expect(create?.headers['private-token']).toBe(fake.token);
    expect(create?.body).toEqual({
      source_branch: 'agent/d',
      target_branch: 'main',
      title: 'Draft: T',
      description: 'B',
    });

    fake.state.pushBranch('agent/s');
    const squash = await forge.openPullRequest({
      head: 'agent/s',
      base: 'main',
      title: 'S',
      body: '',
    });
    await forge.merge(squash.number, 'squash');
    expect(fake.server.sent('PUT', /\/merge$/).at(-1)?.body).toEqual({ squash: true });
  });

  it('asks GitLab to rebase, polls until the rebase is done, then merges', async () => {
    fake = await startFakeForge('gitlab');
    if (fake.server instanceof FakeGitLab) fake.server.rebasePolls = 2;
    let slept = 0;
    const forge = await fake.forge({ sleep: () => Promise.resolve(void slept++) });
    fake.state.pushBranch('agent/r');
    const pr = await forge.openPullRequest({ head: 'agent/r', base: 'main', title: 'R', body: '' });
    await forge.merge(pr.number, 'rebase');
    const order = fake.server.requests
      .filter((r) => r.method === 'PUT' || r.query.get('include_rebase_in_progress') === 'true')
      .map((r) => `${r.method} ${r.path.split('/').pop()}`);
    expect(order).toEqual([
      `PUT rebase`,
      `GET ${pr.number}`,
      `GET ${pr.number}`,
      `GET ${pr.number}`,
      'PUT merge',
    ]);
    expect(slept).toBe(2);
    expect(fake.state.pull(pr.number)?.mergedWith).toBe('rebase');
  });

  it('tells the caller to retry when a rebase is still running, without merging', async () => {
    fake = await startFakeForge('gitlab');
    if (fake.server instanceof FakeGitLab) fake.server.rebasePolls = 1000;
    const forge = await fake.forge({ sleep: () => Promise.resolve(), now: () => 1_000_000 });
    fake.state.pushBranch('agent/slow');
    const pr = await forge.openPullRequest({
      head: 'agent/slow',
      base: 'main',
      title: 'R',
      body: '',
    });
    const err = await forge.merge(pr.number, 'rebase').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgenticError);
    expect((err as AgenticError).code).toBe('FORGE_UNAVAILABLE');
    expect(forgeErrorDetail(err)?.retryAt?.getTime()).toBe(1_030_000);
    expect(fake.server.sent('PUT', /\/merge$/)).toHaveLength(0);
  });

  it('asks for the newest pipeline of the commit and reads the log of failed jobs only', async () => {
    fake = await startFakeForge('gitlab');
    const forge = await fake.forge();
    const headSha = fake.state.pushBranch('agent/ci');
    fake.state.checks.set(headSha, 'red');
    const report = await forge.getChecks(headSha);
    expect(report.state).toBe('failure');
    const [pipelines] = fake.server.sent('GET', /\/pipelines$/);
    expect(Object.fromEntries(pipelines?.query ?? [])).toMatchObject({
      sha: headSha,
      order_by: 'id',
      sort: 'desc',
    });
    expect(fake.server.sent('GET', /\/jobs$/).map((r) => r.query.get('page') ?? '1')).toEqual([
      '1',
      '2',
    ]);
    expect(fake.server.sent('GET', /\/trace$/).map((r) => r.path.split('/').at(-2))).toEqual([
      '12',
    ]);
    expect(report.checks.find((c) => c.name === 'test: flaky')?.state).toBe('success');
  });
});

describe('Gitea/Forgejo requests', () => {
  it('sends the token as Authorization: token, a WIP: title, Do and label ids', async () => {
    fake = await startFakeForge('gitea');
    const forge = await fake.forge();
    fake.state.pushBranch('agent/d');
    const pr = await forge.openPullRequest({
      head: 'agent/d',
      base: 'main',
      title: 'T',
      body: 'B',
      draft: true,
    });
    expect(pr).toMatchObject({ draft: true, title: 'WIP: T' });
    const [create] = fake.server.sent('POST', /\/pulls$/);
    expect(create?.headers['authorization']).toBe(`token ${fake.token}`);
    expect(create?.body).toEqual({ head: 'agent/d', base: 'main', title: 'WIP: T', body: 'B' });

    fake.state.label('bug');
    fake.state.label('wontfix');
    await forge.addLabel(pr.number, 'needs-review');
    await forge.addLabel(pr.number, 'wontfix');
    expect(fake.server.sent('POST', /\/labels$/).map((r) => r.body)).toEqual([
      { name: 'needs-review', color: '#d93f0b' },
      { labels: [3] },
      { labels: [2] },
    ]);

    fake.state.pushBranch('agent/m');
    const m = await forge.openPullRequest({ head: 'agent/m', base: 'main', title: 'M', body: '' });
    await forge.merge(m.number, 'rebase');
    expect(fake.server.sent('POST', /\/merge$/)[0]?.body).toEqual({
      Do: 'rebase',
      delete_branch_after_merge: false,
    });
  });
});
