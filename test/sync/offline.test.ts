import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GROUPS } from '../../src/store/index.js';
import { createSyncService } from '../../src/sync/index.js';
import { testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { hubEnv, seedHistory } from '../helpers/sync.js';

describe.each(engines())('sync offline and with the hub down on $name', (engine) => {
  let root: TempRoot;
  let hub: FakeHub;
  beforeEach(async () => {
    root = await tempRootOn(engine);
    hub = await FakeHub.start();
  });
  afterEach(async () => {
    await hub.stop();
    root.cleanup();
  });

  it('without a token: push only queues, pull serves the cache, status says offline, nothing throws', async () => {
    const ctx = testContext(root, { env: { CORE_API_URL: hub.url, AGENT_NAME: 'node-a' } });
    await seedHistory(ctx, 2);
    const sync = await createSyncService(ctx);
    expect(sync.settings.online).toBe(false);

    const push = await sync.push();
    expect(push).toMatchObject({ success: true, count: 0, queued: 1, offline: 'no token' });
    const queueFile = JSON.parse(readFileSync(join(root.coreRoot, 'sync', 'queue.json'), 'utf8'));
    expect(queueFile).toHaveLength(1);
    expect(queueFile[0].dispatches).toHaveLength(2);

    mkdirSync(join(root.coreRoot, 'sync'), { recursive: true });
    writeFileSync(
      join(root.coreRoot, 'sync', 'context.json'),
      JSON.stringify([{ type: 'note', id: 'note-1', text: 'cached' }]),
    );
    const pull = await sync.pull();
    expect(pull).toMatchObject({ success: true, count: 1, source: 'cache', fetched: 0 });
    expect(pull.context[0]).toMatchObject({ text: 'cached' });

    const status = await sync.status();
    expect(status).toMatchObject({
      agent_id: 'node-a',
      status: 'offline',
      offline_reason: 'no token',
      queued: 1,
      queued_records: 2,
      dropped: 0,
      context_count: 1,
      last_push_at: null,
    });
    expect(hub.requests).toHaveLength(0);
    await ctx.close();
  });

  it('hub down: entries stay queued across a restart and drain once the hub is back', async () => {
    const env = hubEnv(hub.url);
    await hub.stop(); // connection refused

    const first = testContext(root, { env });
    await seedHistory(first, 3);
    const report = await (await createSyncService(first, { random: () => 0.5 })).push();
    expect(report).toMatchObject({ success: true, count: 0, queued: 1 });
    expect(report.error).toMatch(/network error: ECONNREFUSED/);
    await first.close();
    expect(existsSync(join(root.coreRoot, 'sync', 'queue.json'))).toBe(true);

    // A new process: the queue comes back from the store, attempts and all.
    await hub.listen();
    const second = testContext(root, { env });
    const store = await second.store();
    const entries = await store.entries(GROUPS.syncQueue);
    const entry = entries[0]?.[1] as { attempts: number } | undefined;
    expect(entry?.attempts).toBe(1);
    const sent = await (await createSyncService(second)).push();
    expect(sent).toMatchObject({ success: true, count: 3, queued: 0 });
    expect(hub.stored.size).toBe(3);
    expect(existsSync(join(root.coreRoot, 'sync', 'queue.json'))).toBe(false);
    await second.close();
  });
});
