import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRecord } from '../../src/lifecycle/index.js';
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

describe.each(engines())('a pool paused by a usage limit on $name', (engine) => {
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

  const record = async (name: string): Promise<Record<string, unknown> | undefined> => {
    const ctx = testContext(root);
    try {
      return await readRecord(ctx, name);
    } finally {
      await ctx.close();
    }
  };

  it('shows in status, doctor and dispatch --wait, is cleared by start, and gives up after max_requeues', async () => {
    writeAgentsYaml(root, 'dispatch:\n  max_requeues: 1\n');
    daemon = await startDaemon(root);
    const task = 'echo "Error: You exceeded your current quota. Please retry in 2h."; exit 1';
    const before = Date.now();
    const name = String(
      json(
        await runCli(
          ['dispatch', '--repo', repo, '--agent', 'shell', '--task', task, '--json'],
          env,
        ),
      )['workspace'],
    );
    const requeued = await waitUntil('requeue', async () => {
      const r = await record(name);
      return r?.['status'] === 'queued' && r['runs'] === 1 ? r : undefined;
    });
    expect(requeued).toMatchObject({ usage_requeues: 1 });
    expect(String(requeued['question'])).toMatch(
      /^usage limit reached; retrying after .*: Error: You exceeded your current quota/,
    );

    const status = await waitUntil('status to show the pause', async () => {
      const s = json<{ paused: Array<{ pool: string; until: string; reason: string }> }>(
        await runCli(['status', '--json'], env),
      );
      return s.paused.length > 0 ? s : undefined;
    });
    expect(status.paused).toEqual([
      { pool: 'shell', until: expect.any(String), reason: expect.stringMatching(/^usage limit/) },
    ]);
    const pause = Date.parse(status.paused[0]?.until ?? '') - before;
    expect(pause).toBeGreaterThan(2 * 3600_000 - 60_000);
    expect(pause).toBeLessThan(2 * 3600_000 + 60_000);
    expect((await runCli(['status'], env)).stdout).toMatch(/pool shell paused until .*quota/);
    expect(json(await runCli(['doctor', '--json'], env))).toMatchObject({
      paused: [{ pool: 'shell' }],
    });
    // Another dispatch to the paused pool says what it waits for (the daemon holds the lease).
    const waiting = await runCli(
      ['dispatch', '--repo', repo, '--agent', 'shell', '--task', 'true', '--branch', 'w', '--wait'],
      env,
      { timeoutMs: 6000 },
    );
    expect(waiting.stderr).toMatch(/waiting for shell usage limit: .*quota.* until 20/);

    const started = json<{ unpaused: string[] }>(await runCli(['start', '--json'], env));
    expect(started.unpaused).toEqual(['shell']);
    const failed = await waitUntil(
      'give up',
      async () => {
        const r = await record(name);
        return r?.['status'] === 'failed' ? r : undefined;
      },
      30_000,
    );
    expect(failed).toMatchObject({ runs: 2, usage_requeues: 1 });
    expect(String(failed['question'])).toMatch(
      /^shell hit its usage limit again after 1 requeues \(dispatch\.max_requeues\); giving up/,
    );
    // A daemon, two runs and a dozen CLI runs: more than the default 30 s on a loaded machine.
  }, 90_000);
});
