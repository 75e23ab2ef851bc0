import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { json, runCli, type CliResult } from '../helpers/cli.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import {
  GIT_ENV,
  makeSourceRepo,
  startDaemon,
  waitUntil,
  writeAgentsYaml,
} from '../helpers/dispatch.js';
import { filesContaining, startForgeRemote, type ForgeRemote } from '../helpers/deliver.js';
import type { FakeForgeHandle } from '../helpers/fake-forges/index.js';
import { git } from '../helpers/git.js';
import { callOk, connectStdio } from '../mcp/fixture.js';

interface Summary {
  workspace: string;
  status: string;
  question: string | null;
}

for (const kind of ['github', 'gitlab', 'gitea'] as const) {
  // Whole dispatches and a daemon per test: generous limits for a loaded machine.
  describe(
    `deliver.mode pr on ${kind}: git over HTTP, the forge API a loopback fake`,
    { timeout: 180_000 },
    () => {
      let root: TempRoot;
      let remote: ForgeRemote;
      let forge: FakeForgeHandle;
      let bare: string;
      let remoteUrl: string;
      let env: Record<string, string>;
      const logs: string[] = [];

      beforeEach(async () => {
        root = tempRoot('agentic-pr-');
        remote = await startForgeRemote(kind, root, makeSourceRepo(root));
        ({ forge, bare, remoteUrl } = remote);
        env = { ...root.env, ...GIT_ENV, GIT_TERMINAL_PROMPT: '0', [forge.tokenVar]: forge.token };
        logs.length = 0;
        writeAgentsYaml(
          root,
          ['qa: off', 'deliver:', '  mode: pr', remote.forgesYaml, ''].join('\n'),
        );
      });
      afterEach(async () => {
        await remote?.close();
        root?.cleanup();
      });

      const cli = async (
        args: string[],
        extra: Record<string, string> = {},
      ): Promise<CliResult> => {
        const res = await runCli(args, { ...env, ...extra }, { timeoutMs: 120_000 });
        logs.push(res.stdout, res.stderr);
        return res;
      };
      const dispatchWait = async (task: string, extra: string[] = [], e = {}): Promise<Summary> => {
        const res = await cli(
          [
            'dispatch',
            '--repo',
            remoteUrl,
            '--agent',
            'shell',
            '--task',
            task,
            '--wait',
            '--json',
            ...extra,
          ],
          e,
        );
        expect([0, 1], res.stderr).toContain(res.code);
        return json<Summary>(res);
      };
      const status = (name: string): Record<string, unknown> =>
        JSON.parse(
          readFileSync(join(root.coreRoot, 'workspace', name, 'status.json'), 'utf8'),
        ) as Record<string, unknown>;
      const pullsCreated = () => forge.server.sent('POST', /\/(pulls|merge_requests)$/);

      it('pushes the branch and opens one pull request against the recorded base; a resumed run updates it', async () => {
        const task =
          'date +%s%N >> progress.txt && echo a task long enough to be cut in the pull request title';
        const done = await dispatchWait(task, ['--issue', '7']);
        expect(done.status, done.question ?? '').toBe('completed');
        expect(done.question).toBeNull();
        const record = status(done.workspace);
        const branch = String(record['branch']);
        const delivered = record['delivered'] as { mode: string; ref: string; sha: string };
        expect(delivered).toMatchObject({ mode: 'pr', ref: `refs/heads/${branch}` });
        expect(git(bare, 'rev-parse', `refs/heads/${branch}`)).toBe(delivered.sha);
        expect(record['pr_number']).toBe(1);
        expect(String(record['pr_url'])).toMatch(/\/1$/);

        const sent = pullsCreated();
        expect(sent).toHaveLength(1);
        const body = sent[0]?.body as Record<string, string>;
        expect(body['target_branch'] ?? body['base']).toBe('trunk');
        expect(body['source_branch'] ?? body['head']).toBe(branch);
        const title = `[agent/shell] ${task.slice(0, 59)}…`;
        expect(body['title']).toBe(title);
        const text = body['description'] ?? body['body'] ?? '';
        expect(text).toContain(task);
        expect(text).toContain('Closes #7');
        expect(text).toContain('Agent: shell');
        expect(text).toContain('1 commit(s), 1 file(s), +1/-0');
        expect(text).toContain('QA: not run');
        expect(text).toContain(delivered.sha.slice(0, 7));

        // agentic pr: the state and the checks on the head commit.
        forge.state.checks.set(delivered.sha, 'green');
        const pr = await cli(['pr', done.workspace, '--json']);
        expect(pr.code, pr.stderr).toBe(0);
        expect(json(pr)).toMatchObject({
          pr_number: 1,
          state: 'open',
          base: 'trunk',
          head: branch,
          checks: { state: 'success' },
        });

        // A resumed run commits more; its re-delivery updates the same pull request.
        const resumed = await cli(['resume', done.workspace, '--answer', 'go on']);
        expect(resumed.code, resumed.stderr).toBe(0);
        const daemon = await startDaemon(root, { [forge.tokenVar]: forge.token });
        try {
          await waitUntil(
            'the re-delivery',
            () => {
              const r = status(done.workspace);
              const d = r['delivered'] as { sha: string } | undefined;
              return (
                r['status'] === 'completed' &&
                r['closeout'] === undefined &&
                d !== undefined &&
                d.sha !== delivered.sha
              );
            },
            60_000,
          );
        } finally {
          await daemon.stop();
          logs.push(daemon.stderr());
        }
        const again = status(done.workspace);
        const second = again['delivered'] as { sha: string };
        expect(git(bare, 'rev-parse', `refs/heads/${branch}`)).toBe(second.sha);
        expect(git(bare, 'merge-base', '--is-ancestor', delivered.sha, second.sha)).toBe('');
        expect(again['pr_number']).toBe(1);
        expect(again['question']).toBeUndefined();
        const updates = forge.server.requests.filter(
          (r) =>
            (r.method === 'PATCH' || r.method === 'PUT') &&
            /\/(pulls|merge_requests)\/1$/.test(r.path),
        );
        expect(updates.length).toBeGreaterThanOrEqual(1);
        expect(forge.state.pulls).toHaveLength(1);
        expect(forge.state.pulls[0]?.body).toContain('2 commit(s)');

        // The token is in no file of the CoreRoot and in no output or log.
        expect(filesContaining(root.coreRoot, forge.token)).toEqual([]);
        expect(logs.filter((l) => l.includes(forge.token))).toEqual([]);
      });

      it('leaves the work completed with the cause when the forge refuses the token, and accept --pr retries', async () => {
        const done = await dispatchWait('echo hi > hello.txt', [], {
          [forge.tokenVar]: 'wrong-token-1234',
        });
        expect(done.status).toBe('completed');
        expect(done.question).toMatch(/^delivery failed: .*authentication failed \(401\)/);
        expect(done.question).toContain(`$${forge.tokenVar}`);
        const record = status(done.workspace);
        expect(record['delivered']).toBeUndefined();
        expect(record['pr_url']).toBeUndefined();
        expect((record['changes'] as { commits: number }).commits).toBe(1);

        const review = await cli(['review', '--json']);
        expect(JSON.stringify(json(review))).toContain(done.workspace);

        const accepted = await cli(['accept', done.workspace, '--pr', '--json']);
        expect(accepted.code, accepted.stderr).toBe(0);
        expect(json(accepted)).toMatchObject({ success: true, pr_number: 1 });
        const after = status(done.workspace);
        expect(after['question']).toBeUndefined();
        expect(after['delivered']).toMatchObject({ mode: 'pr' });
        expect(forge.state.pulls).toHaveLength(1);
        expect(filesContaining(root.coreRoot, forge.token)).toEqual([]);
        expect(logs.filter((l) => l.includes(forge.token))).toEqual([]);
      });

      // One forge is enough for these: they are registered for GitHub only.
      if (kind === 'github')
        it('accept --pr says when the forge rate-limits it, keeps the work as it was, and succeeds later', async () => {
          const done = await dispatchWait('echo later > later.txt', ['--deliver', 'none']);
          expect(done.status).toBe('completed');
          forge.server.script(
            forge.error(429, 'API rate limit exceeded', { 'retry-after': '120' }),
            {
              method: 'POST',
              path: /\/pulls$/,
            },
          );
          const limited = await cli(['accept', done.workspace, '--pr']);
          expect(limited.code).toBe(1);
          expect(limited.stderr).toMatch(/rate-limited \(429\); retry after \d{4}-/);
          const kept = status(done.workspace);
          expect(kept['status']).toBe('completed');
          expect(kept['delivered']).toBeUndefined();
          expect(kept['pr_number']).toBeUndefined();
          const again = await cli(['accept', done.workspace, '--pr']);
          expect(again.code, again.stderr).toBe(0);
          expect(again.stdout).toMatch(/pull request #1 /);
          expect(forge.state.pulls).toHaveLength(1);
          expect(status(done.workspace)['pr_number']).toBe(1);
        });

      if (kind === 'github')
        it('opens the pull request and reports its checks through the MCP tools', async () => {
          const done = await dispatchWait('echo mcp > mcp.txt', ['--deliver', 'none']);
          expect(done.status).toBe('completed');
          expect(status(done.workspace)['delivered']).toBeUndefined();
          expect(pullsCreated()).toHaveLength(0);
          const h = await connectStdio({
            ...root,
            env: { ...root.env, [forge.tokenVar]: forge.token },
          });
          try {
            const created = await callOk<{ pr_number: number; pr_url: string; sha: string }>(
              h,
              'agentic_create_pr',
              { workspace: done.workspace },
            );
            expect(created.pr_number).toBe(1);
            expect(status(done.workspace)['pr_url']).toBe(created.pr_url);
            forge.state.checks.set(created.sha, 'red');
            const pr = await callOk<{ state: string; checks: { state: string } }>(
              h,
              'agentic_pr_status',
              { workspace: done.workspace },
            );
            expect(pr).toMatchObject({ state: 'open', checks: { state: 'failure' } });
            logs.push(h.stderr());
          } finally {
            await h.close();
          }
          expect(forge.state.pulls).toHaveLength(1);
          expect(filesContaining(root.coreRoot, forge.token)).toEqual([]);
          expect(logs.filter((l) => l.includes(forge.token))).toEqual([]);
        });
    },
  );
}

describe('deliver.mode pr without a forge', { timeout: 120_000 }, () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot('agentic-pr-');
  });
  afterEach(() => root.cleanup());

  it('says a local source has no forge, and keeps the work for review', async () => {
    const repo = makeSourceRepo(root);
    writeAgentsYaml(root, 'qa: off\n');
    const res = await runCli(
      [
        'dispatch',
        '--repo',
        repo,
        '--agent',
        'shell',
        '--task',
        'echo x > x.txt',
        '--deliver',
        'pr',
        '--wait',
        '--json',
      ],
      { ...root.env, ...GIT_ENV },
      { timeoutMs: 120_000 },
    );
    const done = json<Summary>(res);
    expect(done.status).toBe('completed');
    expect(done.question).toMatch(
      /^delivery failed: a pull request needs a forge, but .* is a local repository/,
    );
    const pr = await runCli(['pr', done.workspace], { ...root.env, ...GIT_ENV });
    expect(pr.code).toBe(2);
    expect(pr.stderr).toContain('has no pull request');
  });
});
