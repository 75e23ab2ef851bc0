import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { logPath } from '../../src/dispatch/launch.js';
import { Runner } from '../../src/dispatch/runner.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { readRecord, trackWorkspace } from '../../src/lifecycle/index.js';
import { prettyLine } from '../../src/lib/logger.js';
import { printable } from '../../src/lib/text.js';
import { poolOf, workspaceDir } from '../../src/workspace/index.js';
import { CLI, json, runCli } from '../helpers/cli.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { GIT_ENV, makeSourceRepo, waitUntil } from '../helpers/dispatch.js';
import { sampleRecord } from '../helpers/records.js';

describe('what the operator sees', () => {
  let root: TempRoot;
  let ctx: AppContext | undefined;
  let runner: Runner | undefined;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(async () => {
    await runner?.close();
    runner = undefined;
    await ctx?.close();
    ctx = undefined;
    root.cleanup();
  });

  /** Seeds records; each is stamped (updated_at) with its own `at`, default a fixed time. */
  const seed = async (
    records: Array<[string, Parameters<typeof sampleRecord>[0], string?]>,
  ): Promise<void> => {
    const clock = new ManualClock(new Date('2026-01-01T00:00:00.000Z'));
    const c = testContext(root, { clock });
    for (const [name, r, at] of records) {
      if (at !== undefined) clock.set(new Date(at));
      await trackWorkspace(c, name, sampleRecord(r));
    }
    await c.close();
  };

  it('status into a reader that closes early ends quietly, without an EPIPE stack trace', async () => {
    await seed([['core/go-io/task-1', {}]]);
    const child = spawn(process.execPath, [CLI, 'status'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...root.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader is gone before the CLI writes its first line.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|at .*\.js/);
    expect(code).toBe(0);
  });

  it('status sorts task-3 before task-11, and --limit keeps the most recently updated', async () => {
    await seed([
      ['core/go-io/task-11', {}, '2026-01-02T00:00:00.000Z'],
      ['core/go-io/task-3', {}, '2026-01-01T00:00:00.000Z'],
      ['core/go-io/task-1', {}, '2026-01-03T00:00:00.000Z'],
    ]);
    const names = async (...args: string[]) =>
      json<{ workspaces: Array<{ name: string }> }>(
        await runCli(['status', '--json', ...args], root.env),
      ).workspaces.map((w) => w.name);
    expect(await names()).toEqual(['core/go-io/task-1', 'core/go-io/task-3', 'core/go-io/task-11']);
    expect(await names('--limit', '2')).toEqual(['core/go-io/task-1', 'core/go-io/task-11']);
  });

  it('status --workspace for a workspace that does not exist exits 1', async () => {
    await seed([['core/go-io/task-1', {}]]);
    const res = await runCli(['status', '--workspace', 'core/go-io/task-9', '--json'], root.env);
    expect(res.code).toBe(1);
    expect(json(res)).toMatchObject({ error: { code: 'WORKSPACE_NOT_FOUND' } });
  });

  it('prints BLOCKED.md text without escape sequences or control characters', async () => {
    await seed([
      [
        'core/go-io/task-1',
        {
          status: 'blocked',
          question: '\u001b]0;pwned\u0007\u001b[31mred\u001b[0m which\u202e API?\u0008',
        },
      ],
    ]);
    for (const args of [['status'], ['watch', '--once']]) {
      const res = await runCli(args, root.env);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('red which API?');
      // eslint-disable-next-line no-control-regex -- finding control characters is the point
      expect(res.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
    }
    expect(printable('a\u001b[2Jb\u009b1mc\td\ne')).toBe('abc\td\ne');
  });

  it('watch shows how long finished work ran, not how long ago, and quits on q', async () => {
    await seed([
      [
        'core/go-io/task-1',
        { status: 'completed', started_at: '2026-01-01T10:00:00.000Z' },
        '2026-01-01T10:30:00.000Z',
      ],
    ]);
    const once = await runCli(['watch', '--once'], root.env);
    expect(once.stdout).toMatch(/task-1\s+completed\s+codex\s+30m\s/);

    const child = spawn(process.execPath, [CLI, 'watch', '--interval', '200'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...root.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitUntil('the first frame', () => stdout.includes('task-1'), 30_000);
      child.stdin.write('q');
      const code = await Promise.race([
        exited,
        new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000)),
      ]);
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('logs --json prints the output as one document', async () => {
    await seed([['core/go-io/task-1', { status: 'completed' }]]);
    const path = logPath(
      workspaceDir(join(root.coreRoot, 'workspace'), 'core/go-io/task-1'),
      poolOf('codex'),
    );
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'line one\nline two\n');
    const res = await runCli(['logs', 'core/go-io/task-1', '--json'], root.env);
    expect(res.code).toBe(0);
    expect(json(res)).toMatchObject({
      workspace: 'core/go-io/task-1',
      status: 'completed',
      output: 'line one\nline two\n',
    });
  });

  it('cancel --json answers the status the running workspace ends in', async () => {
    const repo = makeSourceRepo(root);
    ctx = testContext(root);
    const c = ctx;
    runner = await Runner.start(c);
    const { workspace } = await enqueueDispatch(c, { repo, agent: 'shell', task: 'sleep 60' });
    await waitUntil('running', async () => (await readRecord(c, workspace))?.pid !== undefined);
    const res = await runCli(['cancel', workspace, '--json'], { ...root.env, ...GIT_ENV });
    expect(res.code).toBe(0);
    expect(json(res)).toMatchObject({ workspace, status: 'cancelled', cancel_pending: false });
  });

  it('dispatch with no runner up says the work waits for one; doctor reports the runner and the frozen flag', async () => {
    const repo = makeSourceRepo(root);
    const env = { ...root.env, ...GIT_ENV };
    const queued = await runCli(
      ['dispatch', '--repo', repo, '--task', 'true', '--agent', 'shell'],
      env,
    );
    expect(queued.code).toBe(0);
    expect(queued.stderr).toMatch(/no runner is running — start `agentic daemon`/);
    const asJson = await runCli(
      [
        'dispatch',
        '--repo',
        repo,
        '--task',
        'true',
        '--agent',
        'shell',
        '--branch',
        'b2',
        '--json',
      ],
      env,
    );
    expect(json(asJson)).toMatchObject({ status: 'queued', runner_running: false });
    expect((await runCli(['stop'], env)).code).toBe(0);
    const doctor = json<{ runner: unknown }>(await runCli(['doctor', '--json'], env));
    expect(doctor.runner).toEqual({ running: false, pid: null, frozen: true });
    const human = await runCli(['doctor'], env);
    expect(human.stdout).toMatch(/runner:\s+not running.*FROZEN/);
  });

  it('formats daemon log lines for a terminal, one readable line each', () => {
    const line = JSON.stringify({
      level: 30,
      time: Date.parse('2026-01-01T12:00:01.234Z'),
      pid: 1,
      component: 'hub',
      msg: 'request',
      status: 200,
      note: 'x\u001b[2Jy',
    });
    expect(prettyLine(line)).toBe('12:00:01.234 INFO  [hub] request status=200 note=xy\n');
  });
});
