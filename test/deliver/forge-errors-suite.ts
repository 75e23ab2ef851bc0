import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { json, runCli, type CliResult } from '../helpers/cli.js';
import {
  DeliverFixture,
  filesContaining,
  startForgeRemote,
  type ForgeRemote,
  type Summary,
} from '../helpers/deliver.js';
import { startDaemon, waitUntil, writeAgentsYaml, type Daemon } from '../helpers/dispatch.js';
import type { Reply } from '../helpers/fake-forges/index.js';
import { git } from '../helpers/git.js';

/** The request that opens a pull request (GitLab: merge request) on every fake. */
const OPEN_PR = { method: 'POST', path: /\/(pulls|merge_requests)$/ };

/** The retry time a message states, as epoch milliseconds. */
function statedRetry(text: string): number {
  const at = /retry after (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(text)?.[1];
  expect(at, text).toBeDefined();
  return Date.parse(at ?? '');
}

/**
 * Which tests of the suite a file runs: the failures every forge shares, or one half of the
 * GitHub-only ones. The suite is split over files so the test workers share its ~3 minutes.
 */
export type ForgeErrorsPart = 'common' | 'github-push-and-auth' | 'github-answers';

/** Registers the delivery-failure tests of `part` against the fake `kind` forge. */
export function describeForgeErrors(
  kind: 'github' | 'gitlab' | 'gitea',
  part: ForgeErrorsPart,
): void {
  // Whole dispatches through the CLI, git over HTTP: generous limits for a loaded machine.
  describe(`pull request delivery failures on ${kind} (${part})`, { timeout: 180_000 }, () => {
    let fx: DeliverFixture;
    let remote: ForgeRemote;
    let daemon: Daemon | undefined;
    const logs: string[] = [];

    beforeEach(async () => {
      fx = new DeliverFixture();
      remote = await startForgeRemote(kind, fx.root, fx.repo);
      fx.repo = remote.remoteUrl;
      Object.assign(fx.env, {
        GIT_TERMINAL_PROMPT: '0',
        [remote.forge.tokenVar]: remote.forge.token,
      });
      logs.length = 0;
      writeAgentsYaml(fx.root, `qa: off\n${remote.forgesYaml}\n`);
    });
    afterEach(async () => {
      if (daemon) logs.push(daemon.stderr(), daemon.stdout());
      await daemon?.stop();
      daemon = undefined;
      await remote?.close();
      fx?.cleanup();
    });

    const token = (): string => remote.forge.token;
    const tokenVar = (): string => remote.forge.tokenVar;
    const cli = async (args: string[], env = fx.env): Promise<CliResult> => {
      const res = await runCli(args, env, { timeoutMs: 120_000 });
      logs.push(res.stdout, res.stderr);
      return res;
    };
    /** The one dispatch line of the README, waited for. */
    const dispatchPr = async (task: string, env = fx.env): Promise<Summary> => {
      const res = await cli(
        [
          'dispatch',
          '--repo',
          remote.remoteUrl,
          '--agent',
          'shell',
          '--task',
          task,
          '--deliver',
          'pr',
          '--wait',
          '--json',
        ],
        env,
      );
      expect([0, 1], res.stderr).toContain(res.code);
      return json<Summary>(res);
    };
    const branchOf = (name: string): string => String(fx.status(name)['branch']);
    /** The commits of the workspace's branch that its base does not have, newest first. */
    const workCommits = (name: string): string[] =>
      git(
        fx.clone(name),
        'rev-list',
        `${String(fx.status(name)['base_sha'])}..refs/heads/${branchOf(name)}`,
      )
        .split('\n')
        .filter((l) => l !== '');
    const remoteBranch = (name: string): string | undefined => {
      try {
        return git(remote.bare, 'rev-parse', '--verify', '--quiet', `refs/heads/${branchOf(name)}`);
      } catch {
        return undefined;
      }
    };

    /**
     * The failed delivery is on the question and in `agentic pr`, the work is intact in the
     * clone; after `fix`, `accept --pr` opens the pull request and the question is gone.
     */
    const failsThenAcceptOpens = async (
      done: Summary,
      cause: RegExp,
      fix: () => void = () => undefined,
    ): Promise<void> => {
      expect(done.status, done.question ?? '').toBe('completed');
      expect(done.question).toMatch(/^delivery failed: /);
      expect(done.question).toMatch(cause);
      const record = fx.status(done.workspace);
      expect(record['delivered']).toBeUndefined();
      expect(record['pr_number']).toBeUndefined();
      const commits = workCommits(done.workspace);
      expect(commits).toHaveLength((record['changes'] as { commits: number }).commits);
      expect(commits.length).toBeGreaterThan(0);
      expect(git(fx.clone(done.workspace), 'status', '--porcelain')).toBe('');

      const pr = await cli(['pr', done.workspace]);
      expect(pr.code).toBe(2);
      expect(pr.stderr).toContain('has no pull request: its delivery failed: ');
      expect(pr.stderr).toMatch(cause);
      expect(pr.stderr).toContain(`agentic accept ${done.workspace} --pr`);

      fix();
      const accepted = await cli(['accept', done.workspace, '--pr', '--json']);
      expect(accepted.code, accepted.stderr).toBe(0);
      expect(json(accepted)).toMatchObject({ success: true, pr_number: 1 });
      expect(remoteBranch(done.workspace)).toBe(commits[0]);
      const after = fx.status(done.workspace);
      expect(after['question']).toBeUndefined();
      expect(after['delivered']).toMatchObject({ mode: 'pr', sha: commits[0] });
      const open = remote.forge.state.pulls.filter((p) => p.state === 'open');
      expect(open.map((p) => p.head)).toEqual([branchOf(done.workspace)]);
      const shown = await cli(['pr', done.workspace, '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      expect(json(shown)).toMatchObject({ pr_number: 1, state: 'open', delivery_error: null });
      expect(logs.filter((l) => l.includes(token()))).toEqual([]);
    };

    if (part === 'common') {
      it('a refused token (401) names the variable; accept --pr with a valid one opens the pull request', async () => {
        const done = await dispatchPr('echo hi > hello.txt', {
          ...fx.env,
          [tokenVar()]: 'wrong-token-1234',
        });
        expect(done.question).toContain(`$${tokenVar()}`);
        await failsThenAcceptOpens(done, /authentication failed \(401\)/);
      });

      it('a 429 with a distant Retry-After states when to retry; accept --pr after it opens the pull request', async () => {
        remote.forge.server.script(
          remote.forge.error(429, 'Too Many Requests', { 'retry-after': '3600' }),
          OPEN_PR,
        );
        const before = Date.now();
        const done = await dispatchPr('echo later > later.txt');
        const at = statedRetry(done.question ?? '');
        expect(at).toBeGreaterThanOrEqual(before + 3_590_000);
        expect(at).toBeLessThanOrEqual(Date.now() + 3_610_000);
        await failsThenAcceptOpens(done, /rate-limited \(429\); retry after /);
      });

      it('a 429 with a short Retry-After is waited out and the pull request opened', async () => {
        remote.forge.server.script(
          remote.forge.error(429, 'Too Many Requests', { 'retry-after': '1' }),
          OPEN_PR,
        );
        const done = await dispatchPr('echo soon > soon.txt');
        expect(done.status).toBe('completed');
        expect(done.question).toBeNull();
        expect(fx.status(done.workspace)['pr_number']).toBe(1);
        const tries = remote.forge.server.sent('POST', /\/(pulls|merge_requests)$/);
        expect(tries.length).toBeGreaterThanOrEqual(2);
        expect(remote.forge.state.pulls).toHaveLength(1);
      });
    }
    if (part === 'github-push-and-auth') {
      it('a push refused by a pre-receive hook says so with the server words, pushes nothing, and accept --pr retries', async () => {
        const hook = join(remote.bare, 'hooks', 'pre-receive');
        writeFileSync(
          hook,
          '#!/bin/sh\necho "policy: agent branches are frozen today" >&2\nexit 1\n',
        );
        chmodSync(hook, 0o755);
        const done = await dispatchPr('echo hook > hook.txt');
        expect(done.question).toContain('(pre-receive hook declined)');
        expect(done.question).toContain('policy: agent branches are frozen today');
        expect(done.question).toContain('nothing is lost');
        expect(remoteBranch(done.workspace)).toBeUndefined();
        expect(remote.forge.server.sent('POST', /\/pulls$/)).toHaveLength(0);
        await failsThenAcceptOpens(done, /refused the push of agent\//, () => rmSync(hook));
      });

      it('a git server refusing the push over HTTP (403) gives git its words, and accept --pr retries once it accepts', async () => {
        // git http-backend answers 403 to receive-pack when the repository does not allow pushes.
        git(remote.bare, 'config', 'http.receivepack', 'false');
        const done = await dispatchPr('echo h > h.txt');
        expect(done.question).toMatch(/could not push agent\/\S+ to http:\/\/127\.0\.0\.1:\d+\//);
        expect(done.question).toContain('403');
        expect(done.question).toContain('nothing is lost');
        expect(remoteBranch(done.workspace)).toBeUndefined();
        expect(remote.forge.server.requests).toHaveLength(0);
        await failsThenAcceptOpens(done, /could not push agent\//, () => {
          git(remote.bare, 'config', 'http.receivepack', 'true');
        });
      });

      it('a token without rights (403) says what access it needs', async () => {
        remote.forge.server.script(
          remote.forge.error(403, 'Resource not accessible by personal access token'),
          OPEN_PR,
        );
        const done = await dispatchPr('echo p > p.txt');
        expect(done.question).toContain('Resource not accessible by personal access token');
        await failsThenAcceptOpens(
          done,
          /permission denied \(403\).*needs write access to acme\/widgets/,
        );
      });

      it('no token at all is found before anything is pushed; setting it and accept --pr opens the pull request', async () => {
        const { GH_TOKEN: _unset, ...noToken } = fx.env;
        const done = await dispatchPr('echo t > t.txt', noToken);
        expect(done.question).toContain('$GITHUB_TOKEN (or $GH_TOKEN) is not set');
        expect(remoteBranch(done.workspace)).toBeUndefined();
        expect(remote.forge.server.requests).toHaveLength(0);
        await failsThenAcceptOpens(done, /no token for pull requests on acme\/widgets/);
      });

      it('a repository the forge does not know (404) says to check the path and the token', async () => {
        remote.forge.server.script(remote.forge.error(404, 'Not Found'), OPEN_PR);
        const done = await dispatchPr('echo n > n.txt');
        await failsThenAcceptOpens(
          done,
          /not found \(404\): Not Found; check that acme\/widgets exists on 127\.0\.0\.1:\d+/,
        );
      });

      it('a base branch gone from the forge (422) names it', async () => {
        const gone: Reply = {
          status: 422,
          body: {
            message: 'Validation Failed',
            errors: [{ resource: 'PullRequest', field: 'base', code: 'invalid' }],
            documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
            status: '422',
          },
        };
        remote.forge.server.script(gone, OPEN_PR);
        const done = await dispatchPr('echo b > b.txt');
        await failsThenAcceptOpens(done, /the base branch trunk does not exist on the forge/);
      });
    }
    if (part === 'github-answers') {
      it('"No commits between" (422) says the branch adds nothing to the base', async () => {
        const nothing: Reply = {
          status: 422,
          body: {
            message: 'Validation Failed',
            errors: [
              {
                resource: 'PullRequest',
                code: 'custom',
                message: 'No commits between trunk and x',
              },
            ],
            documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
            status: '422',
          },
        };
        remote.forge.server.script(nothing, OPEN_PR);
        const done = await dispatchPr('echo c > c.txt');
        await failsThenAcceptOpens(
          done,
          /has no commits that trunk does not already have \(422: Validation Failed: No commits between/,
        );
      });

      it("GitHub's 403 rate limit (X-RateLimit-Remaining 0) states the X-RateLimit-Reset time", async () => {
        const reset = Math.floor(Date.now() / 1000) + 3600;
        remote.forge.server.script(
          remote.forge.error(403, 'API rate limit exceeded for user ID 1.', {
            'x-ratelimit-limit': '5000',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': '5000',
            'x-ratelimit-reset': String(reset),
            'x-ratelimit-resource': 'core',
          }),
          OPEN_PR,
        );
        const done = await dispatchPr('echo r > r.txt');
        expect(done.question).toContain(
          `rate-limited (403); retry after ${new Date(reset * 1000).toISOString()}`,
        );
        await failsThenAcceptOpens(done, /rate-limited \(403\)/);
      });

      it("GitHub's 403 rate limit that resets in two seconds is waited out", async () => {
        const reset = Math.floor(Date.now() / 1000) + 2;
        remote.forge.server.script(
          remote.forge.error(403, 'API rate limit exceeded for user ID 1.', {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': String(reset),
          }),
          OPEN_PR,
        );
        const done = await dispatchPr('echo w > w.txt');
        expect(done.question).toBeNull();
        expect(fx.status(done.workspace)['pr_number']).toBe(1);
        const tries = remote.forge.server.sent('POST', /\/pulls$/);
        expect(tries).toHaveLength(2);
      });

      /** Delivers once, lets `change` act on pull request #1, resumes, and waits for the re-delivery to end. */
      const redeliverAfter = async (
        change: () => void,
      ): Promise<{ done: Summary; first: string; question: string }> => {
        const done = await dispatchPr('date +%s%N >> progress.txt');
        expect(done.question).toBeNull();
        const first = remoteBranch(done.workspace) ?? '';
        expect(first).toMatch(/^[0-9a-f]{40}$/);
        change();
        const resumed = await cli(['resume', done.workspace, '--answer', 'go on']);
        expect(resumed.code, resumed.stderr).toBe(0);
        daemon = await startDaemon(fx.root, { [tokenVar()]: token() });
        const question = await waitUntil(
          'the re-delivery to end',
          () => {
            const r = fx.status(done.workspace);
            return r['status'] === 'completed' && r['closeout'] === undefined && r['runs'] === 2
              ? String(r['question'] ?? '')
              : undefined;
          },
          90_000,
        );
        return { done, first, question };
      };

      it('a merged pull request is not reused: the new commits stay, agentic pr shows both, accept --pr opens a new one', async () => {
        const { done, first, question } = await redeliverAfter(() => {
          const pull = remote.forge.state.pulls[0];
          if (pull) remote.forge.state.merge(pull, 'merge');
        });
        expect(question).toMatch(
          /^delivery failed: acme\/widgets on 127\.0\.0\.1:\d+: pull request #1 \(\S+\/pull\/1\) was already merged, so the new commits were not pushed/,
        );
        expect(question).toContain('run `agentic accept --pr` to open a new pull request');
        // Nothing pushed over the merged branch; the new commit is in the clone.
        expect(remoteBranch(done.workspace)).toBe(first);
        const commits = workCommits(done.workspace);
        expect(commits).toHaveLength(2);
        expect(commits[1]).toBe(first);

        const shown = await cli(['pr', done.workspace]);
        expect(shown.code, shown.stderr).toBe(0);
        expect(shown.stdout).toContain('pull request #1 merged');
        expect(shown.stdout).toContain('last delivery failed: acme/widgets');
        expect(shown.stdout).toContain(`agentic accept ${done.workspace} --pr`);
        await daemon?.stop();

        const accepted = await cli(['accept', done.workspace, '--pr', '--json']);
        expect(accepted.code, accepted.stderr).toBe(0);
        expect(json(accepted)).toMatchObject({ pr_number: 2 });
        expect(remoteBranch(done.workspace)).toBe(commits[0]);
        expect(remote.forge.state.pulls.map((p) => p.state)).toEqual(['merged', 'open']);
        expect(fx.status(done.workspace)['question']).toBeUndefined();
      });

      it('a closed pull request stops the re-delivery; reopened, accept --pr updates it', async () => {
        const { done, first, question } = await redeliverAfter(() => {
          const pull = remote.forge.state.pulls[0];
          if (pull) pull.state = 'closed';
        });
        expect(question).toMatch(/pull request #1 \(\S+\) was closed without merging/);
        expect(question).toContain('reopen it and run `agentic accept --pr` to update it');
        expect(remoteBranch(done.workspace)).toBe(first);
        const shown = await cli(['pr', done.workspace, '--json']);
        expect(json(shown)).toMatchObject({ state: 'closed', pr_number: 1 });
        expect(String(json(shown)['delivery_error'])).toContain('closed without merging');
        await daemon?.stop();

        const pull = remote.forge.state.pulls[0];
        if (pull) pull.state = 'open';
        const accepted = await cli(['accept', done.workspace, '--pr', '--json']);
        expect(accepted.code, accepted.stderr).toBe(0);
        expect(json(accepted)).toMatchObject({ pr_number: 1 });
        expect(remote.forge.state.pulls).toHaveLength(1);
        expect(remote.forge.state.pulls[0]?.body).toContain('2 commit(s)');
        expect(remoteBranch(done.workspace)).toBe(workCommits(done.workspace)[0]);
      });

      it('the token is nowhere under the CoreRoot nor in the daemon output after a failed and a successful delivery', async () => {
        // The forge's error even echoes the token: it must be redacted before it is recorded.
        remote.forge.server.script(
          remote.forge.error(403, `Resource not accessible by token ${token()}`),
          OPEN_PR,
        );
        daemon = await startDaemon(fx.root, { [tokenVar()]: token() });
        const enqueue = async (task: string): Promise<string> => {
          const res = await cli([
            'dispatch',
            '--repo',
            remote.remoteUrl,
            '--agent',
            'shell',
            '--task',
            task,
            '--deliver',
            'pr',
            '--json',
          ]);
          expect(res.code, res.stderr).toBe(0);
          return json<{ workspace: string }>(res).workspace;
        };
        const finished = (name: string) => () => {
          const r = fx.status(name);
          return r['status'] === 'completed' && r['closeout'] === undefined ? r : undefined;
        };
        const failed = await enqueue('echo one > one.txt');
        const bad = await waitUntil('the failed delivery', finished(failed), 90_000);
        expect(String(bad['question'])).toContain('permission denied (403)');
        expect(String(bad['question'])).toContain('Resource not accessible by token ***');
        const opened = await enqueue('echo two > two.txt');
        const good = await waitUntil('the pull request', finished(opened), 90_000);
        expect(good['question']).toBeUndefined();
        expect(good['pr_number']).toBe(1);
        expect(remote.forge.server.sent('POST', /\/pulls$/)).toHaveLength(2);
        await daemon.stop();
        const output = [daemon.stderr(), daemon.stdout()];
        expect(output[0]).toContain('runner started');

        expect(filesContaining(fx.root.coreRoot, token())).toEqual([]);
        expect(output.filter((l) => l.includes(token()))).toEqual([]);
        expect(logs.filter((l) => l.includes(token()))).toEqual([]);
      });
    }
  });
}
