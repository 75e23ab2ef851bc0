import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GROUPS } from '../../src/store/index.js';
import { createSyncService } from '../../src/sync/index.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { hubEnv } from '../helpers/sync.js';

const dispatch = (n: number) => ({
  workspace: `core/go-io/task-${n}`,
  status: 'completed',
  updated_at: `2026-01-0${n}T00:00:00.000Z`,
  runs: 1,
});

describe('sync with a degraded store (db.sqlite is a directory)', () => {
  let root: TempRoot;
  let hub: FakeHub;
  const syncFile = (name: string) => join(root.coreRoot, 'sync', name);
  const readJson = (name: string) => JSON.parse(readFileSync(syncFile(name), 'utf8')) as unknown;

  beforeEach(async () => {
    root = tempRoot();
    mkdirSync(join(root.coreRoot, 'db.sqlite'));
    hub = await FakeHub.start();
  });
  afterEach(async () => {
    await hub.stop();
    root.cleanup();
  });

  it('carries the queue, ledger and history in the JSON files alone', async () => {
    const env = hubEnv(hub.url);
    await hub.stop();
    const first = testContext(root, { env });
    expect((await first.store()).degraded).toBe(true);
    const queued = await (
      await createSyncService(first)
    ).push({
      dispatches: [dispatch(1), dispatch(2)],
    });
    expect(queued).toMatchObject({ count: 0, queued: 1 });
    expect(readJson('queue.json')).toEqual([
      expect.objectContaining({ attempts: 1, degraded: true, dispatches: expect.any(Array) }),
    ]);
    expect(existsSync(syncFile('queue.lock'))).toBe(false);
    await first.close();

    await hub.listen();
    const second = testContext(root, { env });
    const sync = await createSyncService(second);
    const pushed = await sync.push();
    expect(pushed).toMatchObject({ success: true, count: 2, queued: 0 });
    expect(existsSync(syncFile('queue.json'))).toBe(false);
    expect(readJson('ledger.json')).toEqual({
      'core/go-io/task-1': '2026-01-01T00:00:00.000Z#1',
      'core/go-io/task-2': '2026-01-02T00:00:00.000Z#1',
    });
    expect(readJson('history.json')).toEqual([
      expect.objectContaining({ direction: 'push', items_count: 2 }),
    ]);
    // The ledger file keeps an unchanged dispatch from going out twice.
    expect((await sync.push({ dispatches: [dispatch(1)] })).count).toBe(0);
    expect((await sync.status()).degraded).toBe(true);
    await second.close();
  });

  it('moves entries queued while degraded into the store once it is healthy again', async () => {
    const env = hubEnv(hub.url);
    await hub.stop();
    const degraded = testContext(root, { env });
    await (await createSyncService(degraded)).push({ dispatches: [dispatch(3)] });
    await degraded.close();

    rmSync(join(root.coreRoot, 'db.sqlite'), { recursive: true });
    await hub.listen();
    const healthy = testContext(root, { env });
    expect((await healthy.store()).degraded).toBe(false);
    const report = await (await createSyncService(healthy)).push();
    expect(report).toMatchObject({ count: 1, queued: 0 });
    expect([...hub.stored.keys()]).toEqual(['node-a|core/go-io/task-3|2026-01-03T00:00:00.000Z#1']);
    expect(await (await healthy.store()).get(GROUPS.syncLedger, 'core/go-io/task-3')).toBe(
      '2026-01-03T00:00:00.000Z#1',
    );
    await healthy.close();
  });
});
