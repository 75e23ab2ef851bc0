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
import { GROUPS } from '../../src/store/index.js';
import { createSyncService } from '../../src/sync/index.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { seedHistory } from '../helpers/sync.js';

describe('sync client against the real hub (SQLite)', () => {
  let dir: string;
  let storage: HubStorage;
  let hub: RunningHub;
  let tokens: { alice: string; bob: string };
  let nodeA: TempRoot;
  let nodeB: TempRoot;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-sync-e2e-'));
    const clock = { now: () => new Date() };
    storage = await openHubStorage(join(dir, 'hub.sqlite'), {
      logger: silentLogger(),
      now: clock.now,
    });
    tokens = {
      alice: (await createToken(storage, 'alice', clock)).token,
      bob: (await createToken(storage, 'bob', clock)).token,
    };
    hub = await startHubServer({ storage, clock, logger: silentLogger(), port: 0 });
    nodeA = tempRoot();
    nodeB = tempRoot();
  });
  afterEach(async () => {
    await hub.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    nodeA.cleanup();
    nodeB.cleanup();
  });

  const node = (root: TempRoot, agent: string, token: string) =>
    testContext(root, {
      env: { CORE_API_URL: hub.url, CORE_AGENT_API_KEY: token, AGENT_NAME: agent },
    });

  it('a push from one node is stored once and shows up in the other node’s pulled context', async () => {
    const a = node(nodeA, 'alice', tokens.alice);
    const names = await seedHistory(a, 3);
    const syncA = await createSyncService(a);
    expect(await syncA.push()).toMatchObject({ success: true, count: 3 });
    expect(await syncA.push()).toMatchObject({ count: 0 });
    // Forgetting the ledger re-sends a version the hub already has: it is not stored twice.
    await (await a.store()).delete(GROUPS.syncLedger, names[0]!);
    await (
      await a.store()
    ).set(GROUPS.dispatchHistory, names[0]!, {
      ...((await (await a.store()).get(GROUPS.dispatchHistory, names[0]!)) as object),
      synced: false,
    });
    expect(await syncA.push()).toMatchObject({ count: 1 });
    expect(await storage.versionCount()).toBe(3);

    const b = node(nodeB, 'bob', tokens.bob);
    const pulled = await (await createSyncService(b)).pull();
    expect(pulled).toMatchObject({ success: true, source: 'hub', fetched: 3 });
    expect(pulled.context.map((i) => i['id']).sort()).toEqual([...names].sort());
    expect(pulled.context[0]).toMatchObject({ type: 'dispatch', agent_id: 'alice' });

    const status = await syncA.status();
    expect(status).toMatchObject({ status: 'online', remote: { agent_id: 'alice' } });
    await a.close();
    await b.close();
  });

  it("pushing with another agent's token is a permanent error: the entry is dropped with the hub's reason", async () => {
    const a = node(nodeA, 'alice', tokens.bob);
    await seedHistory(a, 1);
    const sync = await createSyncService(a);
    const report = await sync.push();
    expect(report).toMatchObject({ success: false, dropped: 1 });
    expect(report.error).toMatch(/HTTP 403/);
    expect(await storage.versionCount()).toBe(0);
    await a.close();
  });
});
