import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createToken,
  openHubStorage,
  startHubServer,
  type HubStorage,
  type RunningHub,
} from '../../src/hub/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { json, runCli } from '../helpers/cli.js';
import { type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import {
  GIT_ENV,
  makeSourceRepo,
  startDaemon,
  waitUntil,
  type Daemon,
} from '../helpers/dispatch.js';

describe.each(engines())('a node with a hub configured on $name', (engine) => {
  let dir: string;
  let storage: HubStorage;
  let hub: RunningHub;
  let root: TempRoot;
  let daemon: Daemon | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-fleet-'));
    const clock = { now: () => new Date() };
    storage = await openHubStorage(join(dir, 'hub.sqlite'), {
      logger: silentLogger(),
      now: clock.now,
    });
    hub = await startHubServer({ storage, clock, logger: silentLogger(), port: 0 });
    root = await tempRootOn(engine);
  });
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await hub.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    root.cleanup();
  });

  it('pushes every committed dispatch to the hub by itself, once', async () => {
    const token = (await createToken(storage, 'node-a', { now: () => new Date() })).token;
    const env = { CORE_API_URL: hub.url, CORE_AGENT_API_KEY: token, AGENT_NAME: 'node-a' };
    daemon = await startDaemon(root, env);
    const repo = makeSourceRepo(root);
    const all = { ...root.env, ...GIT_ENV, ...env };
    const names: string[] = [];
    for (const [i, task] of ['echo ok', 'exit 2'].entries()) {
      const res = await runCli(
        [
          'dispatch',
          '--repo',
          repo,
          '--agent',
          'shell',
          '--issue',
          String(i + 1),
          '--task',
          task,
          '--json',
        ],
        all,
      );
      names.push(json<{ workspace: string }>(res).workspace);
    }
    const rows = await waitUntil('both dispatches on the hub', async () => {
      const found = await storage.recentDispatches({ limit: 50 });
      return found.length === 2 ? found : undefined;
    });
    expect(rows.map((r) => r.id).sort()).toEqual(names.sort());
    expect(rows.map((r) => r.record['status']).sort()).toEqual(['completed', 'failed']);
    expect(rows.every((r) => r.agentId === 'node-a')).toBe(true);
    const status = json<{ queued: number; status: string }>(
      await runCli(['sync', 'status', '--json'], all),
    );
    expect(status).toMatchObject({ queued: 0 });
    expect(await storage.versionCount()).toBe(2);
  });
});
