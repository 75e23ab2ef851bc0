import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createSyncService, mergeContext, type SyncService } from '../../src/sync/index.js';
import { ManualClock, testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { hubEnv, seedHistory } from '../helpers/sync.js';

describe.each(engines())('sync pull and status on $name', (engine) => {
  let root: TempRoot;
  let hub: FakeHub;
  let ctx: AppContext;
  let sync: SyncService;
  const clock = new ManualClock(new Date('2026-04-01T10:00:00.000Z'));

  beforeEach(async () => {
    root = await tempRootOn(engine);
    hub = await FakeHub.start();
    ctx = testContext(root, { env: hubEnv(hub.url), clock });
    // Long enough for an answer on a loaded machine; the hanging hub below times out at it.
    sync = await createSyncService(ctx, { requestTimeoutMs: 2_000 });
  });
  afterEach(async () => {
    await ctx.close();
    await hub.stop();
    root.cleanup();
  });

  const dispatchItem = (id: string, fingerprint: string, at: string) => ({
    type: 'dispatch',
    id,
    agent_id: 'node-b',
    fingerprint,
    at,
    dispatch: { status: 'completed' },
  });

  it('caches the context, sets last_pull_at and writes a pull record; a hub that does not page gets one request and a warning, never the node clock as since', async () => {
    hub.contextItems = [
      dispatchItem('core/a/task-1', 'f1', '2026-04-01T09:00:00.000Z'),
      {
        type: 'note',
        id: 'note-1',
        at: '2026-04-01T08:00:00.000Z',
        text: 'freeze main',
        agent_id: null,
      },
    ];
    const first = await sync.pull();
    expect(first).toMatchObject({ success: true, count: 2, fetched: 2, pages: 1, source: 'hub' });
    expect(first.warning).toMatch(/does not page context/);
    const req = hub.requests[0]!;
    expect(req.path).toBe('/v1/agent/context');
    expect(req.query.get('agent_id')).toBe('node-a');
    expect(req.query.get('cursor')).toBe('0');
    expect(req.query.has('since')).toBe(false);
    expect(req.headers.authorization).toBe('Bearer test-token');
    const cached = JSON.parse(readFileSync(join(root.coreRoot, 'sync', 'context.json'), 'utf8'));
    expect(cached).toHaveLength(2);
    const history = JSON.parse(readFileSync(join(root.coreRoot, 'sync', 'history.json'), 'utf8'));
    expect(history).toEqual([
      expect.objectContaining({
        direction: 'pull',
        agent_id: 'node-a',
        items_count: 2,
        synced_at: '2026-04-01T10:00:00.000Z',
      }),
    ]);

    // Next pull: only the newer version of one dispatch comes back; it replaces the cached copy.
    clock.advance(60_000);
    hub.contextItems = [dispatchItem('core/a/task-1', 'f2', '2026-04-01T10:00:30.000Z')];
    const second = await sync.pull();
    // Without a hub cursor the node starts over rather than trust its own clock.
    expect(hub.requests[1]!.query.get('cursor')).toBe('0');
    expect(hub.requests[1]!.query.has('since')).toBe(false);
    expect(second).toMatchObject({ count: 2, fetched: 1 });
    expect(second.context.map((i) => [i['id'], i['fingerprint'] ?? null])).toEqual([
      ['core/a/task-1', 'f2'],
      ['note-1', null],
    ]);
    expect((await sync.status()).last_pull_at).toBe('2026-04-01T10:01:00.000Z');
  });

  it('lets --since override last_pull_at and rejects a non-RFC 3339 value', async () => {
    await sync.pull({ since: '2026-03-01T00:00:00+02:00' });
    expect(hub.requests[0]!.query.get('since')).toBe('2026-03-01T00:00:00+02:00');
    await expect(sync.pull({ since: 'yesterday' })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      field: 'since',
    });
    await expect(sync.pull({ since: '2026-03-01' })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
  });

  it('serves the cache but reports failure (success:false with the reason) when the hub fails, times out or answers garbage', async () => {
    hub.contextItems = [{ type: 'note', id: 'note-7', at: '2026-04-01T00:00:00.000Z', text: 'hi' }];
    await sync.pull();
    for (const answer of [
      { status: 503 },
      { kind: 'hang' as const },
      { status: 200, body: { items: 'not the contract' } },
    ]) {
      hub.script('context', answer);
      const result = await sync.pull();
      expect(result).toMatchObject({ success: false, source: 'cache', count: 1, fetched: 0 });
      expect(result.error).toBeTruthy();
    }
    await hub.stop();
    expect(await sync.pull()).toMatchObject({ success: false, source: 'cache', count: 1 });
  });

  it('merges the local view with the hub status, and shows a hub error instead of throwing', async () => {
    await seedHistory(ctx, 2);
    await sync.enqueue();
    hub.statusData = { status: 'ok', context_count: 9 };
    const online = await sync.status();
    expect(online).toMatchObject({
      agent_id: 'node-a',
      status: 'online',
      hub_url: hub.url,
      queued: 1,
      queued_records: 2,
      dropped: 0,
      last_push_at: null,
      context_count: 0,
      remote: { agent_id: 'node-a', status: 'ok', context_count: 9 },
    });
    expect(online.remote_error).toBeUndefined();

    hub.script('status', { status: 500 });
    const failing = await sync.status();
    expect(failing).toMatchObject({ status: 'unreachable', queued: 1 });
    expect(failing.remote_error).toMatch(/HTTP 500/);
  });

  it('dedupes merged context by type, agent and id, newest first', () => {
    const merged = mergeContext(
      [{ type: 'dispatch', agent_id: 'b', id: 'x', v: 2 }],
      [
        { type: 'dispatch', agent_id: 'b', id: 'x', v: 1 },
        { type: 'dispatch', agent_id: 'c', id: 'x', v: 1 },
        { text: 'no id' },
        { text: 'no id' },
      ],
    );
    expect(merged).toEqual([
      { type: 'dispatch', agent_id: 'b', id: 'x', v: 2 },
      { type: 'dispatch', agent_id: 'c', id: 'x', v: 1 },
      { text: 'no id' },
    ]);
  });
});
