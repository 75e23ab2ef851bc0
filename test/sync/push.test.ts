import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { GROUPS } from '../../src/store/index.js';
import { createSyncService, type SyncServiceOptions } from '../../src/sync/index.js';
import { ManualClock, testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { historyRecord, hubEnv, seedHistory } from '../helpers/sync.js';

describe.each(engines())('sync push on $name', (engine) => {
  let root: TempRoot;
  let hub: FakeHub;
  let ctx: AppContext;
  const clock = new ManualClock(new Date('2026-02-01T12:00:00.000Z'));

  beforeEach(async () => {
    root = await tempRootOn(engine);
    hub = await FakeHub.start();
    hub.token = 'test-token';
    ctx = testContext(root, { env: hubEnv(hub.url), clock });
  });
  afterEach(async () => {
    await ctx.close();
    await hub.stop();
    root.cleanup();
  });

  const service = (options: SyncServiceOptions = {}) =>
    createSyncService(ctx, { random: () => 0.5, ...options });

  it('sends unsynced records with id and fingerprint, then records the ledger, synced flags, last_push_at and a push history record', async () => {
    const names = await seedHistory(ctx, 3);
    const report = await (await service()).push();
    expect(report).toMatchObject({ success: true, count: 3, queued: 0, dropped: 0 });

    expect(hub.pushes).toHaveLength(1);
    const req = hub.pushes[0]!;
    expect(req.headers.authorization).toBe('Bearer test-token');
    expect(req.headers['idempotency-key']).toMatch(/^q-/);
    const body = req.body as { agent_id: string; dispatches: Array<Record<string, unknown>> };
    expect(body.agent_id).toBe('node-a');
    expect(body.dispatches.map((d) => d['id'])).toEqual(names);
    expect(body.dispatches[0]).toMatchObject({
      id: names[0],
      workspace: names[0],
      status: 'completed',
      fingerprint: '2026-01-01T00:00:00.000Z#1',
    });
    expect(body.dispatches[0]).not.toHaveProperty('synced');

    const store = await ctx.store();
    expect(await store.get(GROUPS.syncLedger, names[2]!)).toBe('2026-01-01T00:00:02.000Z#1');
    expect(await store.get(GROUPS.dispatchHistory, names[0]!)).toMatchObject({ synced: true });
    expect(await store.count(GROUPS.syncQueue)).toBe(0);
    expect(existsSync(join(root.coreRoot, 'sync', 'queue.json'))).toBe(false);
    const ledgerFile = JSON.parse(readFileSync(join(root.coreRoot, 'sync', 'ledger.json'), 'utf8'));
    expect(ledgerFile[names[1]!]).toBe('2026-01-01T00:00:01.000Z#1');

    const status = await (await service()).status();
    expect(status.last_push_at).toBe('2026-02-01T12:00:00.000Z');
    const history = JSON.parse(readFileSync(join(root.coreRoot, 'sync', 'history.json'), 'utf8'));
    expect(history).toEqual([
      {
        agent_id: 'node-a',
        direction: 'push',
        payload_size: Buffer.byteLength(JSON.stringify(req.body)),
        items_count: 3,
        synced_at: '2026-02-01T12:00:00.000Z',
      },
    ]);
  });

  it('sends nothing the second time, and sends a record again once its fingerprint changes', async () => {
    const [first] = await seedHistory(ctx, 2);
    const sync = await service();
    expect((await sync.push()).count).toBe(2);
    expect(await sync.push()).toMatchObject({ success: true, count: 0, queued: 0 });
    expect(hub.pushes).toHaveLength(1);

    const store = await ctx.store();
    await store.set(
      GROUPS.dispatchHistory,
      first!,
      historyRecord(first!, { updated_at: '2026-01-02T00:00:00.000Z', runs: 2 }),
    );
    expect((await sync.push()).count).toBe(1);
    expect(hub.pushes).toHaveLength(2);
    expect((hub.pushes[1]!.body as { dispatches: unknown[] }).dispatches).toEqual([
      expect.objectContaining({ id: first, fingerprint: '2026-01-02T00:00:00.000Z#2' }),
    ]);
  });

  it('skips a record whose fingerprint the ledger already holds even when it is not flagged synced', async () => {
    const [name] = await seedHistory(ctx, 1);
    const store = await ctx.store();
    await store.set(GROUPS.syncLedger, name!, '2026-01-01T00:00:00.000Z#1');
    expect((await (await service()).push()).count).toBe(0);
    expect(hub.pushes).toHaveLength(0);
  });

  it('batches at most sync.batch_size records per request, oldest first, each with its own Idempotency-Key', async () => {
    await ctx.close();
    const config = join(root.coreRoot, 'agents.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(config, 'sync:\n  batch_size: 2\n');
    ctx = testContext(root, { env: hubEnv(hub.url), clock });
    const names = await seedHistory(ctx, 5);
    expect((await (await service()).push()).count).toBe(5);
    expect(hub.pushes.map((r) => (r.body as { dispatches: unknown[] }).dispatches.length)).toEqual([
      2, 2, 1,
    ]);
    const sent = hub.pushes.flatMap((r) =>
      (r.body as { dispatches: Array<{ id: string }> }).dispatches.map((d) => d.id),
    );
    expect(sent).toEqual(names);
    const keys = new Set(hub.pushes.map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(3);
  });

  it('pushes explicit dispatches too, and rejects one without an id', async () => {
    const sync = await service();
    const report = await sync.push({
      dispatches: [
        {
          workspace: 'core/x/task-1',
          status: 'failed',
          updated_at: '2026-01-05T00:00:00Z',
          runs: 3,
        },
      ],
    });
    expect(report.count).toBe(1);
    expect((hub.pushes[0]!.body as { dispatches: unknown[] }).dispatches[0]).toMatchObject({
      id: 'core/x/task-1',
      fingerprint: '2026-01-05T00:00:00Z#3',
    });
    await expect(sync.push({ dispatches: [{ status: 'failed' }] })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
  });

  it('takes the collection-time fingerprint into the ledger and leaves a record changed in flight unsynced', async () => {
    const [name] = await seedHistory(ctx, 1);
    const store = await ctx.store();
    const sync = await service();
    await sync.enqueue();
    // The record moves on (a resume) after it was queued but before the hub accepts it.
    await store.set(
      GROUPS.dispatchHistory,
      name!,
      historyRecord(name!, { updated_at: '2026-01-03T00:00:00.000Z', runs: 2 }),
    );
    await sync.send();
    expect(await store.get(GROUPS.syncLedger, name!)).toBe('2026-01-01T00:00:00.000Z#1');
    expect(await store.get(GROUPS.dispatchHistory, name!)).toMatchObject({ synced: false });
    // The next push sends the new version.
    expect((await sync.push()).count).toBe(1);
    expect(await store.get(GROUPS.syncLedger, name!)).toBe('2026-01-03T00:00:00.000Z#2');
  });

  it('does not queue a record twice while an entry with the same version is waiting', async () => {
    await seedHistory(ctx, 2);
    const sync = await service();
    expect(await sync.enqueue()).toEqual({ entries: 1, records: 2 });
    expect(await sync.enqueue()).toEqual({ entries: 0, records: 0 });
    expect(await (await ctx.store()).count(GROUPS.syncQueue)).toBe(1);
  });
});
