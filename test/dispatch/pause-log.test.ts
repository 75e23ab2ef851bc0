import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import {
  GIT_ENV,
  makeSourceRepo,
  startDaemon,
  waitUntil,
  writeAgentsYaml,
  type Daemon,
} from '../helpers/dispatch.js';

/** The daemon's JSON log lines (stderr is not a terminal in tests). */
function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.each(engines())('pool pauses in the daemon log on $name', (engine) => {
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

  const dispatch = async (task: string, branch: string): Promise<void> => {
    const res = await runCli(
      ['dispatch', '--repo', repo, '--agent', 'shell', '--task', task, '--branch', branch],
      env,
    );
    expect(res.code, res.stderr).toBe(0);
  };
  const line = (d: Daemon, msg: RegExp): Promise<Record<string, unknown>> =>
    waitUntil(
      `a daemon log line matching ${String(msg)}`,
      () => logLines(d.stderr()).find((l) => msg.test(String(l['msg']))),
      30_000,
    );

  it('logs one line with pool, reason and until when fast failures pause a pool, and one when the pause runs out', async () => {
    writeAgentsYaml(
      root,
      'dispatch:\n  failure_backoff: { count: 1, within_seconds: 60, pause_minutes: 0.05 }\n',
    );
    const d = (daemon = await startDaemon(root));
    const before = Date.now();
    await dispatch('exit 3', 'fails');
    const paused = await line(d, /^pool shell paused until /);
    expect(paused).toMatchObject({
      level: 40,
      pool: 'shell',
      reason: '1 runs failed within 60s of their start',
      until: expect.any(String),
    });
    const until = Date.parse(String(paused['until']));
    expect(until).toBeGreaterThan(before);
    expect(until).toBeLessThan(Date.now() + 3_000 + 1_000);
    const resumed = await line(d, /^pool shell resumed/);
    expect(resumed).toMatchObject({
      pool: 'shell',
      reason: 'pause ran out',
      paused_until: paused['until'],
    });
    expect(
      logLines(d.stderr()).filter((l) => /^pool shell paused/.test(String(l['msg']))),
    ).toHaveLength(1);
  });

  it('logs a usage-limit pause with its reset time, and its end when agentic start clears it', async () => {
    writeAgentsYaml(root, 'dispatch:\n  max_requeues: 1\n');
    const d = (daemon = await startDaemon(root));
    await dispatch(
      'echo "Error: You exceeded your current quota. Please retry in 2h."; exit 1',
      'q',
    );
    const paused = await line(d, /^pool shell paused until /);
    expect(paused).toMatchObject({
      pool: 'shell',
      reason: expect.stringMatching(/^usage limit: .*quota/),
    });
    const hours = (Date.parse(String(paused['until'])) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(1.9);
    expect(hours).toBeLessThan(2.1);
    const start = await runCli(['start'], env);
    expect(start.code, start.stderr).toBe(0);
    expect(await line(d, /^pool shell resumed/)).toMatchObject({
      pool: 'shell',
      reason: 'pause cleared (agentic start)',
      paused_until: paused['until'],
    });
  });
});
