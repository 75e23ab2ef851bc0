import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAllRecords } from '../../src/lifecycle/index.js';
import { GROUPS } from '../../src/store/index.js';
import { json, runCli } from '../helpers/cli.js';
import { testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import {
  GIT_ENV,
  makeSourceRepo,
  startDaemon,
  waitUntil,
  writeAgentsYaml,
  type Daemon,
} from '../helpers/dispatch.js';

describe.each(engines())('dispatching shell agents through a daemon on $name', (engine) => {
  let root: TempRoot;
  let repo: string;
  let daemon: Daemon | undefined;
  let env: Record<string, string>;

  beforeEach(async () => {
    root = await tempRootOn(engine);
    repo = makeSourceRepo(root);
    env = { ...root.env, ...GIT_ENV };
  });
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    root.cleanup();
  });

  const dispatch = async (task: string, extra: string[] = []): Promise<{ workspace: string }> => {
    const res = await runCli(
      ['dispatch', '--repo', repo, '--agent', 'shell', '--task', task, '--json', ...extra],
      env,
    );
    expect(res.code, res.stderr).toBe(0);
    return json<{ workspace: string }>(res);
  };
  const record = async (name: string): Promise<Record<string, unknown> | undefined> => {
    const ctx = testContext(root);
    try {
      return (await readAllRecords(ctx)).get(name);
    } finally {
      await ctx.close();
    }
  };
  const finished = (name: string): Promise<Record<string, unknown>> =>
    waitUntil(`${name} to finish`, async () => {
      const r = await record(name);
      return r && !['queued', 'running'].includes(String(r['status'])) ? r : undefined;
    });

  it('clones the source on an agent branch from its current branch and completes', async () => {
    daemon = await startDaemon(root);
    const { workspace } = await dispatch(
      'git rev-parse --abbrev-ref HEAD > ../.meta/branch.txt; echo done',
    );
    const r = await finished(workspace);
    expect(r).toMatchObject({ status: 'completed', runs: 1, exit_code: 0, base_ref: 'trunk' });
    expect(r['pid']).toBeUndefined();
    const dir = join(root.coreRoot, 'workspace', workspace);
    expect(String(r['branch'])).toMatch(/^agent\/git-rev-parse-abbrev-ref-head/);
    expect(String(r['branch']).length).toBeLessThanOrEqual('agent/'.length + 40);
    expect(readFileSync(join(dir, '.meta', 'branch.txt'), 'utf8').trim()).toBe(r['branch']);
    expect(readFileSync(join(dir, '.meta', 'agent-shell.log'), 'utf8')).toContain('done');
    expect(readFileSync(join(dir, '.meta', 'prompt.md'), 'utf8')).toContain('git rev-parse');
    expect(readdirSync(join(dir, '.meta', 'prompts'))).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, '.meta', 'exit.json'), 'utf8'))).toMatchObject({
      exit_code: 0,
      signal: null,
    });
  });

  it('ends blocked with the question from repo/BLOCKED.md, and failed on a non-zero exit', async () => {
    daemon = await startDaemon(root);
    const blocked = await dispatch('printf "Which API version should I target?" > BLOCKED.md', [
      '--issue',
      '1',
    ]);
    const failing = await dispatch('echo nope; exit 3', ['--issue', '2']);
    expect(await finished(blocked.workspace)).toMatchObject({
      status: 'blocked',
      question: 'Which API version should I target?',
    });
    expect(await finished(failing.workspace)).toMatchObject({
      status: 'failed',
      question: 'agent exited with code 3: nope',
      exit_code: 3,
    });
    for (const name of [blocked.workspace, failing.workspace]) {
      const meta = join(root.coreRoot, 'workspace', name, '.meta');
      // commit.json is written after the journal line: once it exists the line is complete.
      await waitUntil(`${name} commit`, () => existsSync(join(meta, 'commit.json')));
      const journal = join(meta, 'journal.jsonl');
      const lines = readFileSync(journal, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ workspace: name, runs: 1 });
    }
  });

  it('records the signal in exit.json when the agent is killed by one', async () => {
    daemon = await startDaemon(root);
    const { workspace } = await dispatch('kill -TERM $$; sleep 5', ['--issue', '3']);
    expect(await finished(workspace)).toMatchObject({
      status: 'failed',
      question: 'agent was killed by SIGTERM',
      exit_code: 143,
    });
    const exit = JSON.parse(
      readFileSync(join(root.coreRoot, 'workspace', workspace, '.meta', 'exit.json'), 'utf8'),
    );
    expect(exit).toMatchObject({ exit_code: 143, signal: 'SIGTERM', run: 1 });
  });

  // A same-node wake-up, timed against the 2 s poll; on PostgreSQL a claim is ~27 round trips,
  // which a busy machine stretches past the bound: test/fleet/wake.test.ts times fleet wake-ups.
  if (engine.name === 'sqlite')
    it('starts a dispatch enqueued by another process within 200 ms via a wake-up', async () => {
      writeAgentsYaml(root, 'dispatch:\n  default_concurrency: 4\n');
      daemon = await startDaemon(root, {});
      // The daemon's safety-net poll is 2 s, so a start well under it proves the wake-up path
      // (bench/dispatch.ts measures the 200 ms p99 target on an idle runner).
      const { workspace } = await dispatch('true');
      const r = await finished(workspace);
      const latency = Date.parse(String(r['started_at'])) - Date.parse(String(r['queued_at']));
      expect(latency).toBeGreaterThanOrEqual(0);
      expect(latency).toBeLessThan(1000);
    });

  it('rejects hostile --repo/--org/--name/--branch with exit 2 and creates nothing', async () => {
    const cases: string[][] = [
      ['--repo', '-oProxyCommand=touch /tmp/pwned'],
      ['--repo', '/definitely/not/here'],
      ['--repo', repo, '--org', '../..'],
      ['--repo', repo, '--org', '-rf'],
      ['--repo', repo, '--name', 'a/b'],
      ['--repo', repo, '--name', 'x\u0001y'],
      ['--repo', repo, '--branch', '../../etc'],
      ['--repo', repo, '--branch', '-delete'],
      ['--repo', repo, '--branch', 'a b'],
      ['--repo', repo, '--agent', 'nope'],
      ['--repo', repo, '--priority', 'high'],
    ];
    for (const args of cases) {
      const res = await runCli(['dispatch', '--task', 'true', '--json', ...args], env);
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
    }
    expect(existsSync(join(root.coreRoot, 'workspace'))).toBe(false);
    const ctx = testContext(root);
    expect(await (await ctx.store()).count(GROUPS.registry)).toBe(0);
    await ctx.close();
    const unknown = await runCli(
      ['dispatch', '--repo', repo, '--task', 't', '--agent', 'nope'],
      env,
    );
    expect(unknown.stderr).toMatch(
      /unknown agent "nope"; known agents: claude, codex, gemini, opencode, shell/,
    );
    // Twelve CLI processes in a row: on a loaded machine each may take seconds.
  }, 180_000);

  it('fails a dispatch whose agent CLI is not on PATH, without retrying', async () => {
    writeAgentsYaml(
      root,
      'agents:\n  ghost:\n    command: [definitely-not-installed-xyz, "{prompt}"]\n',
    );
    daemon = await startDaemon(root);
    const res = await runCli(
      ['dispatch', '--repo', repo, '--agent', 'ghost', '--task', 'hi', '--json'],
      env,
    );
    const { workspace } = json<{ workspace: string }>(res);
    expect(await finished(workspace)).toMatchObject({
      status: 'failed',
      question: "agent CLI 'definitely-not-installed-xyz' not found on PATH",
      runs: 0,
    });
  });

  it('runs custom agents with placeholders, env and cwd', async () => {
    writeAgentsYaml(
      root,
      [
        'agents:',
        '  mine:',
        '    command: [/bin/sh, -c, "echo model=$0 ws=$1 repo=$2 file=$3 mode=$MY_MODE > custom.out", "{model}", "{workspace}", "{repo_dir}", "{prompt_file}"]',
        '    env: { MY_MODE: batch }',
        '    cwd: workspace',
        '',
      ].join('\n'),
    );
    daemon = await startDaemon(root);
    const { workspace } = json<{ workspace: string }>(
      await runCli(
        ['dispatch', '--repo', repo, '--agent', 'mine:big-1', '--task', 'do it', '--json'],
        env,
      ),
    );
    await finished(workspace);
    const dir = join(root.coreRoot, 'workspace', workspace);
    expect(readFileSync(join(dir, 'custom.out'), 'utf8').trim()).toBe(
      `model=big-1 ws=${dir} repo=${join(dir, 'repo')} file=${join(dir, '.meta', 'prompt.md')} mode=batch`,
    );
  });

  it('with --wait runs an embedded runner when none holds the lease, and exits 0 only when completed', async () => {
    const ok = await runCli(
      ['dispatch', '--repo', repo, '--agent', 'shell', '--task', 'echo fine', '--wait', '--json'],
      env,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(json(ok)).toMatchObject({ status: 'completed' });
    expect(ok.stderr).toMatch(/preparing|running|queued/);
    // The embedded runner is gone with the command: the journal commit (line, history and
    // stats rows, then the marker) happened before it exited, not left to a next runner.
    const okDir = join(root.coreRoot, 'workspace', String(json(ok)['workspace']));
    expect(existsSync(join(okDir, '.meta', 'commit.json'))).toBe(true);
    const stats = json(await runCli(['workspace', 'stats', '--json'], env));
    expect(stats['summary']).toMatchObject({ count: 1 });
    const bad = await runCli(
      [
        'dispatch',
        '--repo',
        repo,
        '--agent',
        'shell',
        '--task',
        'exit 4',
        '--issue',
        '9',
        '--wait',
        '--json',
      ],
      env,
    );
    expect(bad.code).toBe(1);
    expect(json(bad)).toMatchObject({ status: 'failed', question: 'agent exited with code 4' });
  });
});
