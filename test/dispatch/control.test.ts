import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { claimReady } from '../../src/dispatch/claim.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { Runner } from '../../src/dispatch/runner.js';
import { readAllRecords, readRecord } from '../../src/lifecycle/index.js';
import { GROUPS } from '../../src/store/index.js';
import { isProcessAlive } from '../../src/lib/proc.js';
import { json, runCli } from '../helpers/cli.js';
import { ManualClock, testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import {
  GIT_ENV,
  makeSourceRepo,
  startDaemon,
  waitUntil,
  waitForGate,
  writeAgentsYaml,
  type Daemon,
} from '../helpers/dispatch.js';

describe.each(engines())('timeouts, back-off and operator control on $name', (engine) => {
  let root: TempRoot;
  let repo: string;
  let daemon: Daemon | undefined;
  let ctx: AppContext | undefined;
  let runner: Runner | undefined;

  beforeEach(async () => {
    root = await tempRootOn(engine);
    repo = makeSourceRepo(root);
  });
  afterEach(async () => {
    await runner?.close();
    runner = undefined;
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await ctx?.close();
    ctx = undefined;
    root.cleanup();
  });

  const statusOf = async (c: AppContext, name: string): Promise<string | undefined> =>
    (await readRecord(c, name))?.status;
  const until = (c: AppContext, name: string, status: string): Promise<boolean> =>
    waitUntil(`${name} to be ${status}`, async () => (await statusOf(c, name)) === status, 30_000);

  it('kills the whole process group on timeout, grandchildren too', async () => {
    writeAgentsYaml(root, 'dispatch:\n  timeout_minutes: 0.01\n  kill_grace_seconds: 1\n');
    ctx = testContext(root);
    runner = await Runner.start(ctx);
    const pidFile = join(root.coreRoot, 'grandchild.pid');
    // The grandchild ignores SIGTERM, so only the SIGKILL after the grace period ends it.
    const { workspace } = await enqueueDispatch(ctx, {
      repo,
      agent: 'shell',
      task: `sh -c 'trap "" TERM; sleep 30' & echo $! > ${pidFile}; wait`,
    });
    await until(ctx, workspace, 'failed');
    expect(await readRecord(ctx, workspace)).toMatchObject({
      question: 'agent timed out after 0.01m',
    });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await waitUntil('grandchild to die', () => !isProcessAlive(grandchild), 10_000);
  });

  it('writes exit.json when the runner is SIGKILLed mid-run', async () => {
    daemon = await startDaemon(root);
    const res = await runCli(
      ['dispatch', '--repo', repo, '--agent', 'shell', '--task', 'sleep 0.5; exit 7', '--json'],
      { ...root.env, ...GIT_ENV },
    );
    const { workspace } = json<{ workspace: string }>(res);
    ctx = testContext(root);
    const c = ctx;
    await waitUntil(
      'agent to start',
      async () => (await readRecord(c, workspace))?.pid !== undefined,
    );
    await daemon.stop('SIGKILL');
    const exitFile = join(root.coreRoot, 'workspace', workspace, '.meta', 'exit.json');
    await waitUntil('exit.json', () => existsSync(exitFile), 10_000);
    expect(JSON.parse(readFileSync(exitFile, 'utf8'))).toMatchObject({
      exit_code: 7,
      signal: null,
    });
    expect(await statusOf(ctx, workspace)).toBe('running');
  });

  it('pauses a pool for 30 minutes after three fast failures, and any success resets the count', async () => {
    writeAgentsYaml(root, 'concurrency:\n  shell: 1\n');
    const clock = new ManualClock(new Date());
    ctx = testContext(root, { clock });
    const r = await Runner.start(ctx);
    if (!r) throw new Error('no lease');
    runner = r;
    const names: string[] = [];
    for (let i = 0; i < 4; i++)
      names.push(
        (await enqueueDispatch(ctx, { repo, agent: 'shell', task: 'exit 1', branch: `f-${i}` }))
          .workspace,
      );
    for (const n of names.slice(0, 3)) await until(ctx, n, 'failed');
    const store = await ctx.store();
    const backoff = (await store.get(GROUPS.runtime, 'backoff')) as Record<string, string>;
    expect(Date.parse(backoff['shell'] ?? '') - clock.now().getTime()).toBeGreaterThan(29 * 60_000);
    // The file mirrors the store once the finishing transaction is durable, a moment after
    // the new status is visible.
    const mirrored = await waitUntil('runtime/dispatch.json to mirror the back-off', () => {
      const file = join(root.coreRoot, 'runtime', 'dispatch.json');
      const state = existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as { backoff?: Record<string, string> })
        : undefined;
      return state?.backoff?.['shell'];
    });
    expect(mirrored).toBe(backoff['shell']);
    // What the runner's wake-up does, asked directly: no claim while the back-off holds, and
    // its end as the time to look again (a fixed sleep would prove nothing under load).
    const held = await claimReady(ctx, 1000, ctx.config.nodeId);
    expect(held.claims).toEqual([]);
    expect(held.retryAt?.toISOString()).toBe(backoff['shell']);
    expect(await statusOf(ctx, names[3] ?? '')).toBe('queued');
    clock.advance(31 * 60_000);
    r.wake();
    await until(ctx, names[3] ?? '', 'failed');
    expect(await store.get(GROUPS.runtime, 'fail_count')).toEqual({ shell: 1 });
    const ok = await enqueueDispatch(ctx, { repo, agent: 'shell', task: 'true', branch: 'ok' });
    await until(ctx, ok.workspace, 'completed');
    expect(await store.get(GROUPS.runtime, 'fail_count')).toBeUndefined();
  });

  it('never pauses a pool when failure_backoff.count is 0', async () => {
    writeAgentsYaml(
      root,
      'dispatch:\n  failure_backoff:\n    count: 0\nconcurrency:\n  shell: 1\n',
    );
    ctx = testContext(root);
    const r = await Runner.start(ctx);
    if (!r) throw new Error('no lease');
    runner = r;
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      names.push(
        (await enqueueDispatch(ctx, { repo, agent: 'shell', task: 'exit 1', branch: `z-${i}` }))
          .workspace,
      );
    }
    for (const n of names) await until(ctx, n, 'failed');
    const store = await ctx.store();
    expect(await store.get(GROUPS.runtime, 'backoff')).toBeUndefined();
    expect(await store.get(GROUPS.runtime, 'fail_count')).toBeUndefined();
  });

  it('requeues on a usage-limit message and restarts after the stated reset', async () => {
    const clock = new ManualClock(new Date());
    ctx = testContext(root, { clock });
    const r = await Runner.start(ctx);
    if (!r) throw new Error('no lease');
    runner = r;
    const resetAt = Math.floor(clock.now().getTime() / 1000) + 7200;
    const marker = join(root.coreRoot, 'ran-once');
    const task = `if [ -f ${marker} ]; then echo "continue=$AGENTIC_CONTINUE run=$AGENTIC_RUN"; exit 0; fi; touch ${marker}; echo "Claude AI usage limit reached|${resetAt}"; exit 1`;
    const { workspace } = await enqueueDispatch(ctx, { repo, agent: 'shell', task });
    const c = ctx;
    await waitUntil('requeue', async () => {
      const r = await readRecord(c, workspace);
      return r?.status === 'queued' && r.runs === 1;
    });
    const backoff = (await (await ctx.store()).get(GROUPS.runtime, 'backoff')) as Record<
      string,
      string
    >;
    expect(Date.parse(backoff['shell'] ?? '')).toBe(resetAt * 1000);
    const held = await claimReady(ctx, 1000, ctx.config.nodeId);
    expect(held.claims).toEqual([]);
    expect(held.retryAt?.getTime()).toBe(resetAt * 1000);
    expect(await readRecord(ctx, workspace)).toMatchObject({ status: 'queued', runs: 1 });
    clock.advance(7201 * 1000);
    r.wake();
    await until(ctx, workspace, 'completed');
    expect(await readRecord(ctx, workspace)).toMatchObject({ runs: 2 });
    const log = readFileSync(
      join(root.coreRoot, 'workspace', workspace, '.meta', 'agent-shell.log'),
      'utf8',
    );
    expect(log).toContain('continue=1 run=2');
  });

  it('stop freezes new starts, start resumes, kill fails running and cancels queued (journaled)', async () => {
    writeAgentsYaml(root, 'concurrency:\n  shell: 1\n');
    daemon = await startDaemon(root);
    const env = { ...root.env, ...GIT_ENV };
    const gate = join(root.coreRoot, 'gate');
    const d = async (task: string, branch: string): Promise<string> =>
      json<{ workspace: string }>(
        await runCli(
          [
            'dispatch',
            '--repo',
            repo,
            '--agent',
            'shell',
            '--task',
            task,
            '--branch',
            branch,
            '--json',
          ],
          env,
        ),
      ).workspace;
    ctx = testContext(root);
    const c = ctx;
    const first = await d(waitForGate(gate), 'first');
    await waitUntil('first running', async () => (await readRecord(c, first))?.pid !== undefined);
    expect((await runCli(['stop', '--json'], env)).code).toBe(0);
    const second = await d('true', 'second');
    writeFileSync(gate, 'go');
    await until(ctx, first, 'completed');
    // Frozen: a claim finds nothing, whoever makes it.
    expect(await claimReady(ctx, 1000, 'test')).toMatchObject({ frozen: true, claims: [] });
    expect(await statusOf(ctx, second)).toBe('queued');
    expect((await runCli(['start'], env)).code).toBe(0);
    await until(ctx, second, 'completed');

    const long = await d('sleep 30', 'long');
    await waitUntil('long running', async () => (await readRecord(c, long))?.pid !== undefined);
    const queued = await d('true', 'queued');
    const kill = await runCli(['kill', '--json'], env);
    expect(json(kill)).toMatchObject({ killed: [long], cancelled: [queued] });
    await until(ctx, long, 'failed');
    expect(await readRecord(ctx, long)).toMatchObject({ question: 'killed by operator' });
    expect(await readRecord(ctx, queued)).toMatchObject({ status: 'cancelled' });
    for (const n of [long, queued]) {
      const marker = join(root.coreRoot, 'workspace', n, '.meta', 'commit.json');
      await waitUntil(`${n} commit`, () => existsSync(marker));
    }
    const after = await d('true', 'after-kill');
    expect(await claimReady(ctx, 1000, 'test')).toMatchObject({ frozen: true, claims: [] });
    expect(await statusOf(ctx, after)).toBe('queued');
    expect([...(await readAllRecords(ctx)).keys()]).toHaveLength(5);
    // About fifteen CLI runs: a loaded machine needs more than the default 30 s.
  }, 120_000);
});
