import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { GROUPS } from '../../src/store/index.js';
import { createSyncService, type SyncService } from '../../src/sync/index.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { hubEnv, seedHistory } from '../helpers/sync.js';

describe('sync entry leases', () => {
  let root: TempRoot;
  let hub: FakeHub;
  let ctx: AppContext;
  let sync: SyncService;
  const clock = new ManualClock(new Date('2026-07-01T00:00:00.000Z'));

  beforeEach(async () => {
    root = tempRoot();
    hub = await FakeHub.start();
    ctx = testContext(root, { env: hubEnv(hub.url), clock });
    sync = await createSyncService(ctx);
    await seedHistory(ctx, 1);
    await sync.enqueue();
  });
  afterEach(async () => {
    await ctx.close();
    await hub.stop();
    root.cleanup();
  });

  const leaseHead = async (owner: string, until: string) => {
    const store = await ctx.store();
    const id = (await store.entries(GROUPS.syncQueue))[0]?.[0] ?? '';
    await store.set(GROUPS.syncState, `lease:${id}`, { owner, until });
  };

  it('skips an entry another live process holds until its lease ends', async () => {
    await leaseHead(`${hostname()}:${process.ppid}:other`, '2026-07-01T00:01:00.000Z');
    expect(await sync.push()).toMatchObject({
      count: 0,
      queued: 1,
      next_attempt: '2026-07-01T00:01:00.000Z',
    });
    expect(hub.pushes).toHaveLength(0);
    clock.advance(60_000);
    expect(await sync.push()).toMatchObject({ count: 1, queued: 0 });
  });

  it('ignores the lease of a process that died on this host', async () => {
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
        encoding: 'utf8',
      }).stdout,
    );
    await leaseHead(`${hostname()}:${dead}:gone`, '2026-07-01T01:00:00.000Z');
    expect(await sync.push()).toMatchObject({ count: 1, queued: 0 });
  });
});
