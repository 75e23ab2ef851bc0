import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { startDaemon, waitUntil } from '../helpers/dispatch.js';
import { git } from '../helpers/git.js';
import { callOk, connectStdio } from '../mcp/fixture.js';
import { FAILING_CHECK, mergeFixture, type MergeFixture, type Summary } from './merge-fixture.js';

for (const kind of ['github', 'gitlab', 'gitea'] as const) {
  // Whole dispatches (and daemons) per test: generous limits for a loaded machine.
  describe(
    `deliver.mode merge on ${kind}: checks awaited, then merged or handed to review`,
    { timeout: 180_000 },
    () => {
      let f: MergeFixture;
      beforeEach(async () => {
        f = await mergeFixture(kind);
      });
      afterEach(async () => {
        await f?.close();
      });
      const journal = (name: string): string =>
        readFileSync(join(f.root.coreRoot, 'workspace', name, '.meta', 'journal.jsonl'), 'utf8');
      const noToken = (): void => {
        expect(f.logs.filter((l) => l.includes(f.forge.token))).toEqual([]);
      };

      it('merges the pull request once its checks pass and deletes its branch on the remote', async () => {
        f.configure();
        f.onPush = (_branch, sha, n) => {
          // Running first, green a moment later: the wait polls more than once.
          f.forge.state.checks.set(sha, 'pending');
          if (n === 1) setTimeout(() => f.forge.state.checks.set(sha, 'green'), 600);
        };
        const done = await f.dispatchWait('echo merged > merged.txt');
        expect(done.status, done.question ?? '').toBe('merged');
        const record = f.status(done.workspace);
        const branch = String(record['branch']);
        expect(record['closeout']).toBeUndefined();
        expect(record['checks_wait']).toBeUndefined();
        expect(record['question']).toBeUndefined();
        expect(record['pr_number']).toBe(1);
        // The git server: the branch is gone, the base holds the work.
        expect(f.remoteSha(branch)).toBeUndefined();
        expect(git(f.bare, 'show', 'trunk:merged.txt')).toBe('merged');
        // The forge: merged with the default method, the branch deleted through its API.
        const pull = f.forge.state.pulls[0];
        expect(pull?.state).toBe('merged');
        expect(pull?.mergedWith).toMatch(/^merge/);
        expect(f.forge.state.branches.has(branch)).toBe(false);
        expect(f.forge.server.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
        expect(journal(done.workspace)).toContain('"status":"merged"');
        noToken();
      });

      it('rebases once onto the moved base after red checks, then labels the pull request needs-review with the failing checks', async () => {
        f.configure();
        let movedBase = '';
        f.onPush = (_branch, sha, n) => {
          f.forge.state.checks.set(sha, 'red');
          if (n === 1) movedBase = f.advanceBase('upstream.txt');
        };
        const done = await f.dispatchWait('echo red > red.txt');
        expect(done.status).toBe('completed');
        expect(done.question).toBe(`needs review: checks failed: ${FAILING_CHECK[kind]}`);
        const record = f.status(done.workspace);
        const branch = String(record['branch']);
        expect(record['closeout']).toBeUndefined();
        // The agent branch was rebased onto the moved base and force-pushed once.
        const tip = f.remoteSha(branch);
        expect(tip).toBe((record['delivered'] as { sha: string }).sha);
        expect(git(f.bare, 'merge-base', '--is-ancestor', movedBase, tip ?? '')).toBe('');
        expect(f.gitHttp.pushes).toHaveLength(2);
        const pull = f.forge.state.pulls[0];
        expect(pull?.state).toBe('open');
        expect(pull?.labels).toContain('needs-review');
        expect(pull?.comments).toHaveLength(1);
        expect(pull?.comments[0]).toContain(FAILING_CHECK[kind]);
        expect(pull?.comments[0]).toContain('checks failed');
        // Not merged, so the branch stays.
        expect(f.forge.server.requests.filter((r) => r.method === 'DELETE')).toHaveLength(0);
        const review = await f.cli(['review', '--json']);
        expect(JSON.stringify(json(review))).toContain(done.workspace);
        noToken();
      });

      it('hands the failing checks to the agent in a fix round and merges when the next push is green', async () => {
        f.configure(['fix_rounds: 1']);
        f.onPush = (_branch, sha, n) => f.forge.state.checks.set(sha, n === 1 ? 'red' : 'green');
        // The agent keeps what it was told, so the test can read its answer on the merged base.
        const done = await f.dispatchWait(
          'if [ -f ANSWER.md ]; then cp ANSWER.md fixed.txt; else echo first > first.txt; fi',
        );
        expect(done.status, done.question ?? '').toBe('merged');
        const record = f.status(done.workspace);
        expect(record['ci_round']).toBe(1);
        expect(record['runs']).toBe(2);
        const answer = git(f.bare, 'show', 'trunk:fixed.txt');
        expect(answer).toContain(FAILING_CHECK[kind]);
        expect(answer).toContain('failed');
        // One pull request, updated by the second delivery.
        expect(f.forge.state.pulls).toHaveLength(1);
        expect(f.forge.state.pulls[0]?.state).toBe('merged');
        expect(f.gitHttp.pushes).toHaveLength(2);
        noToken();
      });
    },
  );
}

describe(
  'deliver.mode merge on github: the wait is durable, and its edges',
  { timeout: 180_000 },
  () => {
    let f: MergeFixture;
    beforeEach(async () => {
      f = await mergeFixture('github');
    });
    afterEach(async () => {
      await f?.close();
    });

    it('resumes the checks wait after the runner is SIGKILLed, without delivering again', async () => {
      f.configure();
      let pushed = '';
      f.onPush = (_branch, sha) => {
        pushed = sha;
        f.forge.state.checks.set(sha, 'pending');
      };
      const res = await f.cli([
        'dispatch',
        '--repo',
        f.remoteUrl,
        '--agent',
        'shell',
        '--task',
        'echo x > x.txt',
        '--json',
      ]);
      expect(res.code, res.stderr).toBe(0);
      const name = json<Summary>(res).workspace;
      const first = await startDaemon(f.root, { [f.forge.tokenVar]: f.forge.token });
      let deadline = '';
      try {
        await waitUntil(
          'the checks wait on the record',
          () => {
            const wait = f.status(name)['checks_wait'] as { deadline: string } | undefined;
            if (wait) deadline = wait.deadline;
            return wait !== undefined && f.forge.server.sent('GET', /check-runs$/).length >= 2;
          },
          60_000,
        );
      } finally {
        await first.stop('SIGKILL');
      }
      const pushes = f.gitHttp.pushes.length;
      const opened = f.forge.server.sent('POST', /\/pulls$/).length;
      expect(f.status(name)['closeout']).toBe('pending');
      expect((f.status(name)['checks_wait'] as { deadline: string }).deadline).toBe(deadline);
      const shown = await f.cli(['pr', name, '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      expect(json(shown)).toMatchObject({
        state: 'open',
        checks: { state: 'pending' },
        checks_wait: { deadline, sha: pushed },
      });
      f.forge.state.checks.set(pushed, 'green');
      const second = await startDaemon(f.root, { [f.forge.tokenVar]: f.forge.token });
      try {
        await waitUntil('merged', () => f.status(name)['status'] === 'merged', 60_000);
      } finally {
        await second.stop();
      }
      expect(f.gitHttp.pushes).toHaveLength(pushes);
      expect(f.forge.server.sent('POST', /\/pulls$/)).toHaveLength(opened);
      expect(f.forge.state.pulls[0]?.state).toBe('merged');
      expect(f.remoteSha(String(f.status(name)['branch']))).toBeUndefined();
    });

    it('rebases once when the forge refuses the merge as a conflict, and merges the rebased branch', async () => {
      f.configure();
      let movedBase = '';
      f.onPush = (_branch, sha, n) => {
        f.forge.state.checks.set(sha, 'green');
        if (n === 1) movedBase = f.advanceBase('upstream.txt');
      };
      f.forge.server.script(f.forge.error(405, 'Pull Request is not mergeable'), {
        method: 'PUT',
        path: /\/merge$/,
      });
      const done = await f.dispatchWait('echo conflict > conflict.txt');
      expect(done.status, done.question ?? '').toBe('merged');
      expect(f.gitHttp.pushes).toHaveLength(2);
      expect(f.forge.server.requests.filter((r) => /\/merge$/.test(r.path))).toHaveLength(2);
      const merged = String(f.forge.state.pulls[0]?.mergeCommitSha);
      expect(git(f.bare, 'rev-parse', 'trunk')).toBe(merged);
      // The merged head was the rebased branch: it holds the base that moved meanwhile.
      const head = git(f.bare, 'rev-parse', `${merged}^2`);
      expect(git(f.bare, 'merge-base', '--is-ancestor', movedBase, head)).toBe('');
      expect(git(f.bare, 'show', 'trunk:conflict.txt')).toBe('conflict');
    });

    it('merges on the local QA result when the remote has no checks and require_checks is false', async () => {
      f.configure(
        ['require_checks: false', 'merge_method: squash'],
        ['qa:', '  checks:', '    - { name: ok, run: ["true"] }'],
      );
      const done = await f.dispatchWait('echo qa > qa.txt');
      expect(done.status, done.question ?? '').toBe('merged');
      const record = f.status(done.workspace);
      expect(record['qa']).toMatchObject({ passed: true });
      expect(f.forge.state.pulls[0]?.mergedWith).toBe('squash');
    });

    it('asks for review when the remote has no checks and require_checks is on (the default)', async () => {
      f.configure();
      const done = await f.dispatchWait('echo none > none.txt');
      expect(done.status).toBe('completed');
      expect(done.question).toBe('needs review: no checks configured on the remote');
      expect(f.forge.state.pulls[0]?.labels).toContain('needs-review');
      expect(f.remoteSha(String(f.status(done.workspace)['branch']))).toBeDefined();
    });

    it('asks for review when the checks do not finish in time', async () => {
      f.configure(['checks_timeout_minutes: 0.01']);
      f.onPush = (_branch, sha) => f.forge.state.checks.set(sha, 'pending');
      const done = await f.dispatchWait('echo slow > slow.txt');
      expect(done.status).toBe('completed');
      expect(done.question).toBe('needs review: checks did not finish within 0.01 minutes');
      expect(f.forge.state.pulls[0]?.comments[0]).toContain('did not finish');
    });

    it('waits out a rate limit on the checks instead of failing, then merges', async () => {
      f.configure();
      f.onPush = (_branch, sha) => f.forge.state.checks.set(sha, 'green');
      f.forge.server.script(f.forge.error(429, 'API rate limit exceeded', { 'retry-after': '1' }), {
        method: 'GET',
        path: /check-runs$/,
      });
      const done = await f.dispatchWait('echo limited > limited.txt');
      expect(done.status, done.question ?? '').toBe('merged');
      const checks = f.forge.server.requests.filter((r) => /check-runs$/.test(r.path));
      expect(checks.length).toBeGreaterThanOrEqual(2);
    });

    it('accept --merge-pr opens the pull request, waits for its checks and merges it', async () => {
      f.configure();
      f.onPush = (_branch, sha) => f.forge.state.checks.set(sha, 'green');
      const done = await f.dispatchWait('echo later > later.txt', ['--deliver', 'none']);
      expect(done.status).toBe('completed');
      expect(f.forge.state.pulls).toHaveLength(0);
      const accepted = await f.cli(['accept', done.workspace, '--merge-pr', '--json']);
      expect(accepted.code, accepted.stderr).toBe(0);
      expect(json(accepted)).toMatchObject({ merged: true, status: 'merged', pr_number: 1 });
      const record = f.status(done.workspace);
      expect(record['status']).toBe('merged');
      expect(f.remoteSha(String(record['branch']))).toBeUndefined();
      expect(git(f.bare, 'show', 'trunk:later.txt')).toBe('later');
    });

    it('agentic_create_pr with merge: true waits for the checks in the MCP server and merges', async () => {
      f.configure();
      f.onPush = (_branch, sha) => f.forge.state.checks.set(sha, 'green');
      const done = await f.dispatchWait('echo mcp > mcp.txt', ['--deliver', 'none']);
      expect(done.status).toBe('completed');
      const h = await connectStdio({
        ...f.root,
        env: { ...f.root.env, [f.forge.tokenVar]: f.forge.token },
      });
      try {
        const created = await callOk<{ pr_number: number }>(h, 'agentic_create_pr', {
          workspace: done.workspace,
          merge: true,
        });
        expect(created.pr_number).toBe(1);
        await waitUntil('merged', () => f.status(done.workspace)['status'] === 'merged', 60_000);
      } finally {
        await h.close();
      }
      expect(f.forge.state.pulls[0]?.state).toBe('merged');
      expect(git(f.bare, 'show', 'trunk:mcp.txt')).toBe('mcp');
    });
  },
);
