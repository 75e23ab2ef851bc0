import { createToken } from '../../src/hub/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, dispatch, hubEngines, push, startFixture, type HubFixture } from './fixture.js';

interface ContextBody {
  data: Array<{
    type: string;
    id: string;
    agent_id: string | null;
    at: string;
    text?: string;
    fingerprint?: string;
    dispatch?: Record<string, unknown>;
  }>;
}

describe.each(hubEngines())('hub context, status and dashboard data on $name', (engine) => {
  let hub: HubFixture;
  beforeEach(async () => {
    hub = await startFixture(engine);
  });
  afterEach(async () => {
    await hub?.close();
  });

  describe('context', () => {
    it("gives an agent the others' dispatches and the notes, never its own, newest first", async () => {
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')]);
      hub.clock.advance(1000);
      await push(hub, hub.tokens.bob, 'bob', [dispatch('core/b/task-1')]);
      hub.clock.advance(1000);
      await call(hub.url, 'POST', '/v1/agent/context', {
        token: hub.tokens.admin,
        body: { text: 'release freeze from 18:00' },
      });
      hub.clock.advance(1000);
      await push(hub, hub.tokens.carol, 'carol', [dispatch('core/c/task-1')]);

      const res = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob', {
        token: hub.tokens.bob,
      });
      expect(res.status).toBe(200);
      const items = (res.body as ContextBody).data;
      expect(items.map((i) => [i.type, i.type === 'note' ? i.text : i.id, i.at])).toEqual([
        ['dispatch', 'core/c/task-1', '2026-03-01T12:00:03.000Z'],
        ['note', 'release freeze from 18:00', '2026-03-01T12:00:02.000Z'],
        ['dispatch', 'core/a/task-1', '2026-03-01T12:00:00.000Z'],
      ]);
      expect(items[0]).toMatchObject({
        agent_id: 'carol',
        fingerprint: '2026-03-01T10:30:00.000Z#1',
        dispatch: { id: 'core/c/task-1', status: 'completed', repo: 'c' },
      });
    });

    it('returns only items strictly newer than since (any RFC 3339 offset)', async () => {
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')]);
      hub.clock.advance(1000);
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-2')]);
      hub.clock.advance(1000);
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-3')]);
      const since = encodeURIComponent('2026-03-01T13:00:01+01:00'); // = 12:00:01Z, task-2's time
      const res = await call(hub.url, 'GET', `/v1/agent/context?agent_id=bob&since=${since}`, {
        token: hub.tokens.bob,
      });
      expect((res.body as ContextBody).data.map((i) => i.id)).toEqual(['core/a/task-3']);
    });

    it('rejects a since that is not RFC 3339 with 400 naming since', async () => {
      const res = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob&since=yesterday', {
        token: hub.tokens.bob,
      });
      expect(res).toMatchObject({ status: 400, body: { error: { field: 'since' } } });
    });

    it('shows the newest version of a dispatch, even when an older one arrives later', async () => {
      const newer = dispatch('core/a/task-1', {
        status: 'merged',
        updated_at: '2026-03-01T11:00:00.000Z',
        runs: 2,
      });
      await push(hub, hub.tokens.alice, 'alice', [newer]);
      hub.clock.advance(1000);
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')]);
      const res = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob', {
        token: hub.tokens.bob,
      });
      const items = (res.body as ContextBody).data;
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ fingerprint: '2026-03-01T11:00:00.000Z#2' });
      expect(items[0]?.dispatch).toMatchObject({ status: 'merged' });
      expect(await hub.storage.versionCount()).toBe(2);
    });

    it('keeps the newest version when one batch carries several versions of a dispatch', async () => {
      await push(hub, hub.tokens.alice, 'alice', [
        dispatch('core/a/task-1', { status: 'running', updated_at: '2026-03-01T10:05:00.000Z' }),
        dispatch('core/a/task-1', { status: 'failed', updated_at: '2026-03-01T10:09:00.000Z' }),
        dispatch('core/a/task-1', { status: 'queued', updated_at: '2026-03-01T10:00:00.000Z' }),
      ]);
      const res = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob', {
        token: hub.tokens.bob,
      });
      expect((res.body as ContextBody).data.map((i) => i.dispatch?.['status'])).toEqual(['failed']);
    });

    it('gives a note addressed to one agent only to that agent', async () => {
      await call(hub.url, 'POST', '/v1/agent/context', {
        token: hub.tokens.admin,
        body: { text: 'bob: rebase go-io first', agent_id: 'bob' },
      });
      const forBob = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob', {
        token: hub.tokens.bob,
      });
      const forAlice = await call(hub.url, 'GET', '/v1/agent/context?agent_id=alice', {
        token: hub.tokens.alice,
      });
      expect((forBob.body as ContextBody).data.map((i) => i.text)).toEqual([
        'bob: rebase go-io first',
      ]);
      expect((forAlice.body as ContextBody).data).toEqual([]);
    });

    it('caps a pull at limit items, newest first', async () => {
      for (let i = 1; i <= 5; i++) {
        await push(hub, hub.tokens.alice, 'alice', [dispatch(`core/a/task-${i}`)]);
        hub.clock.advance(1000);
      }
      const res = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob&limit=2', {
        token: hub.tokens.bob,
      });
      expect((res.body as ContextBody).data.map((i) => i.id)).toEqual([
        'core/a/task-5',
        'core/a/task-4',
      ]);
      const tooMany = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob&limit=1001', {
        token: hub.tokens.bob,
      });
      expect(tooMany.status).toBe(400);
    });

    it('rejects a note without text with 400 naming text', async () => {
      const res = await call(hub.url, 'POST', '/v1/agent/context', {
        token: hub.tokens.admin,
        body: { text: '   ' },
      });
      expect(res).toMatchObject({ status: 400, body: { error: { field: 'text' } } });
    });
  });

  describe('status', () => {
    it('reports unknown for an agent the hub never heard from', async () => {
      const res = await call(hub.url, 'GET', '/v1/agent/status?agent_id=alice', {
        token: hub.tokens.alice,
      });
      expect(res.body).toEqual({
        data: {
          agent_id: 'alice',
          status: 'unknown',
          last_push_at: null,
          last_pull_at: null,
          queued: 0,
          context_count: 0,
        },
      });
    });

    it('reports last push and pull from the hub clock, the context count, and idle after 15 minutes', async () => {
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')], 'k', 'node-7');
      await push(hub, hub.tokens.bob, 'bob', [
        dispatch('core/b/task-1'),
        dispatch('core/b/task-2'),
      ]);
      hub.clock.advance(5000);
      await call(hub.url, 'GET', '/v1/agent/context?agent_id=alice', { token: hub.tokens.alice });
      await call(hub.url, 'POST', '/v1/agent/context', {
        token: hub.tokens.admin,
        body: { text: 'note' },
      });
      const status = async (): Promise<unknown> =>
        (await call(hub.url, 'GET', '/v1/agent/status?agent_id=alice', { token: hub.tokens.alice }))
          .body;
      expect(await status()).toEqual({
        data: {
          agent_id: 'alice',
          status: 'online',
          last_push_at: '2026-03-01T12:00:00.000Z',
          last_pull_at: '2026-03-01T12:00:05.000Z',
          queued: 0,
          context_count: 3,
        },
      });
      hub.clock.advance(15 * 60_000 + 1);
      expect(await status()).toMatchObject({ data: { status: 'idle' } });
      expect((await hub.storage.agent('alice'))?.fleetNodeId).toBe('node-7');
    });

    it('does not count an admin reading a context as that agent pulling', async () => {
      await call(hub.url, 'GET', '/v1/agent/context?agent_id=alice', { token: hub.tokens.admin });
      expect(await hub.storage.agent('alice')).toBeUndefined();
    });
  });

  describe('dashboard data', () => {
    beforeEach(async () => {
      await push(
        hub,
        hub.tokens.alice,
        'alice',
        [
          dispatch('core/go-io/task-1'),
          dispatch('core/go-io/task-2', { status: 'failed', question: 'tests time out' }),
        ],
        undefined,
        'node-a',
      );
      await push(hub, hub.tokens.bob, 'bob', [
        dispatch('lab/web/task-9', { status: 'running', updated_at: '2026-03-01T11:59:00.000Z' }),
      ]);
    });

    it('lists nodes, counts by status and recent dispatches with durations', async () => {
      const res = await call(hub.url, 'GET', '/v1/dashboard', { token: hub.tokens.admin });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        generated_at: '2026-03-01T12:00:00.000Z',
        nodes: [
          { agent_id: 'alice', fleet_node_id: 'node-a', status: 'online', dispatches: 2 },
          { agent_id: 'bob', fleet_node_id: null, status: 'online', dispatches: 1 },
        ],
        counts: { completed: 1, failed: 1, running: 1 },
        total: 3,
      });
      const rows = (res.body as { dispatches: Array<Record<string, unknown>> }).dispatches;
      expect(rows.map((r) => r['id']).sort()).toEqual([
        'core/go-io/task-1',
        'core/go-io/task-2',
        'lab/web/task-9',
      ]);
      // Terminal: started 10:00 → updated 10:30. Running: started 10:00 → now (12:00).
      expect(rows.find((r) => r['id'] === 'core/go-io/task-1')?.['duration_ms']).toBe(1_800_000);
      expect(rows.find((r) => r['id'] === 'lab/web/task-9')?.['duration_ms']).toBe(7_200_000);
    });

    it('filters dispatches by status, agent and repo', async () => {
      const ids = async (query: string): Promise<unknown[]> =>
        (
          (await call(hub.url, 'GET', `/v1/dashboard?${query}`, { token: hub.tokens.admin }))
            .body as { dispatches: Array<{ id: string }> }
        ).dispatches
          .map((d) => d.id)
          .sort();
      expect(await ids('status=failed')).toEqual(['core/go-io/task-2']);
      expect(await ids('agent_id=bob')).toEqual(['lab/web/task-9']);
      expect(await ids('repo=core/go-io')).toEqual(['core/go-io/task-1', 'core/go-io/task-2']);
      expect(await ids('repo=web')).toEqual(['lab/web/task-9']);
    });

    it('shows an agent token only its own node, counts and records; the fleet needs admin or viewer', async () => {
      const own = await call(hub.url, 'GET', '/v1/dashboard', { token: hub.tokens.bob });
      expect(own.status).toBe(200);
      const body = own.body as {
        nodes: Array<{ agent_id: string }>;
        counts: Record<string, number>;
        total: number;
        dispatches: Array<{ agent_id: string; id: string }>;
      };
      expect(body.nodes.map((n) => n.agent_id)).toEqual(['bob']);
      expect(body.counts).toEqual({ running: 1 });
      expect(body.total).toBe(1);
      expect(body.dispatches.map((d) => d.id)).toEqual(['lab/web/task-9']);
      const other = await call(hub.url, 'GET', '/v1/dashboard?agent_id=alice', {
        token: hub.tokens.bob,
      });
      expect(other.status).toBe(403);

      const viewer = (await createToken(hub.storage, null, hub.clock, 'viewer')).token;
      const fleet = await call(hub.url, 'GET', '/v1/dashboard', { token: viewer });
      expect(fleet).toMatchObject({ status: 200, body: { total: 3 } });
      // Read-only: a viewer can neither push nor add notes.
      expect(
        (
          await call(hub.url, 'POST', '/v1/agent/sync', {
            token: viewer,
            body: { agent_id: 'alice', dispatches: [] },
          })
        ).status,
      ).toBe(403);
      expect(
        (await call(hub.url, 'POST', '/v1/agent/context', { token: viewer, body: { text: 'x' } }))
          .status,
      ).toBe(403);
    });

    it('needs a token', async () => {
      expect((await call(hub.url, 'GET', '/v1/dashboard')).status).toBe(401);
    });
  });
});
