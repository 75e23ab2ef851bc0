import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { readAllRecords, readRecord } from '../../src/lifecycle/index.js';
import { runCli } from '../helpers/cli.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import {
  GIT_ENV,
  makeSourceRepo,
  startDaemon,
  waitForGate,
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

describe('agents.yaml changes reach a running daemon', () => {
  let root: TempRoot;
  let repo: string;
  let env: Record<string, string>;
  let daemon: Daemon | undefined;
  let ctx: AppContext | undefined;

  beforeEach(() => {
    root = tempRoot();
    repo = makeSourceRepo(root);
    env = { ...root.env, ...GIT_ENV };
  });
  afterEach(async () => {
    writeFileSync(join(root.coreRoot, 'gate'), '');
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await ctx?.close();
    ctx = undefined;
    root.cleanup();
  });

  const logged = (d: Daemon, msg: string, count = 1): Promise<Record<string, unknown>[]> =>
    waitUntil(
      `${count} daemon log line(s) "${msg}"`,
      () => {
        const found = logLines(d.stderr()).filter((l) => String(l['msg']).startsWith(msg));
        return found.length >= count ? found : undefined;
      },
      30_000,
    );

  it('applies a concurrency change written to agents.yaml to the next claims, without a restart', async () => {
    writeAgentsYaml(root, 'concurrency:\n  shell: 1\n');
    const d = (daemon = await startDaemon(root));
    const gate = join(root.coreRoot, 'gate');
    const names: string[] = [];
    for (const branch of ['one', 'two']) {
      const res = await runCli(
        ['dispatch', '--repo', repo, '--agent', 'shell', '--branch', branch, '--json'].concat(
          '--task',
          waitForGate(gate),
        ),
        env,
      );
      expect(res.code, res.stderr).toBe(0);
      names.push(String((JSON.parse(res.stdout) as Record<string, unknown>)['workspace']));
    }
    const c = (ctx = testContext(root));
    const runningNow = async (): Promise<number> =>
      [...(await readAllRecords(c)).values()].filter(
        (r) => r.status === 'running' && r.pid !== undefined,
      ).length;
    await waitUntil('one agent running', async () => (await runningNow()) === 1, 30_000);

    writeAgentsYaml(root, 'concurrency:\n  shell: 2\n');
    await logged(d, 'agents.yaml reloaded; new claims use it');
    await waitUntil('both agents running at once', async () => (await runningNow()) === 2, 30_000);
    writeFileSync(gate, '');
    for (const name of names)
      await waitUntil(
        `${name} to complete`,
        async () => (await readRecord(c, name))?.status === 'completed',
        30_000,
      );
  });

  it('re-reads agents.yaml on SIGHUP; an invalid file is logged and the daemon runs on with the configuration it had', async () => {
    writeAgentsYaml(root, 'dispatch:\n  timeout_minutes: 0.03\n  kill_grace_seconds: 1\n');
    const d = (daemon = await startDaemon(root));
    d.proc.kill('SIGHUP');
    await logged(d, 'agents.yaml reloaded; nothing changed');

    writeAgentsYaml(root, 'dispatch: [timeout_minutes: 5\n');
    const [refused] = await logged(d, 'agents.yaml not reloaded: it is invalid');
    expect(refused).toMatchObject({ level: 50, path: join(root.coreRoot, 'agents.yaml') });
    expect(String(refused?.['err'])).toContain('invalid YAML');
    d.proc.kill('SIGHUP');
    await logged(d, 'agents.yaml not reloaded: it is invalid', 2);
    expect(d.proc.exitCode).toBeNull();

    // The daemon still times agents out after 0.03 minutes, as the last valid file said. (A
    // client reads its own valid file: the shared one is broken.)
    const clientYaml = join(root.coreRoot, 'client.yaml');
    writeFileSync(clientYaml, '{}\n');
    const c = (ctx = testContext(root, { configPath: clientYaml }));
    const { workspace } = await enqueueDispatch(c, { repo, agent: 'shell', task: 'sleep 60' });
    const ended = await waitUntil(
      'the agent to time out',
      async () => {
        const r = await readRecord(c, workspace);
        return r?.status === 'failed' ? r : undefined;
      },
      40_000,
    );
    expect(ended.question).toBe('agent timed out after 0.03m');

    writeAgentsYaml(root, 'dispatch:\n  timeout_minutes: 5\n');
    await logged(d, 'agents.yaml reloaded; new claims use it');
  });
});
