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

describe.each(hubEngines())('hub on $name', (engine) => {
  let hub: HubFixture;
  beforeEach(async () => {
    hub = await startFixture(engine);
  });
  afterEach(async () => {
    await hub?.close();
  });

  describe('health and routing', () => {
    it('answers /healthz without a token, naming the engine', async () => {
      const res = await call(hub.url, 'GET', '/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok', engine: engine.name, schema_version: 1 });
    });

    it('answers /healthz with 503 when the database is gone', async () => {
      await hub.storage.close();
      const res = await call(hub.url, 'GET', '/healthz');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
    });

    it('answers an unknown route with a JSON 404', async () => {
      const res = await call(hub.url, 'GET', '/v2/nothing');
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    });
  });

  describe('authentication and authorisation', () => {
    it('rejects a request without a token with 401 and a Bearer challenge', async () => {
      const res = await call(hub.url, 'GET', '/v1/agent/status?agent_id=alice');
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    });

    it('rejects an unknown token and a malformed header with 401', async () => {
      const unknown = await call(hub.url, 'GET', '/v1/agent/status?agent_id=alice', {
        token: 'agh_not-a-real-token',
      });
      expect(unknown.status).toBe(401);
      const malformed = await call(hub.url, 'GET', '/v1/agent/status?agent_id=alice', {
        headers: { authorization: `Basic ${hub.tokens.alice}` },
      });
      expect(malformed.status).toBe(401);
    });

    it("refuses with 403 when alice's token pushes as bob, and stores nothing", async () => {
      const res = await push(hub, hub.tokens.alice, 'bob', [dispatch('core/go-io/task-1')]);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
      expect(await hub.storage.versionCount()).toBe(0);
      expect(await hub.storage.agents()).toEqual([]);
    });

    it("refuses with 403 when alice reads bob's context or status", async () => {
      for (const path of ['/v1/agent/context?agent_id=bob', '/v1/agent/status?agent_id=bob']) {
        const res = await call(hub.url, 'GET', path, { token: hub.tokens.alice });
        expect(res.status, path).toBe(403);
      }
    });

    it('lets an admin token push and read as any agent', async () => {
      expect((await push(hub, hub.tokens.admin, 'bob', [dispatch('core/a/task-1')])).status).toBe(
        200,
      );
      const ctx = await call(hub.url, 'GET', '/v1/agent/context?agent_id=alice', {
        token: hub.tokens.admin,
      });
      expect(ctx.status).toBe(200);
      expect((ctx.body as ContextBody).data.map((i) => i.id)).toEqual(['core/a/task-1']);
    });

    it('lets only an admin add an operator note', async () => {
      const res = await call(hub.url, 'POST', '/v1/agent/context', {
        token: hub.tokens.alice,
        body: { text: 'freeze merges' },
      });
      expect(res.status).toBe(403);
      const ok = await call(hub.url, 'POST', '/v1/agent/context', {
        token: hub.tokens.admin,
        body: { text: 'freeze merges', priority: 'high' },
      });
      expect(ok.status).toBe(201);
      expect(ok.body).toEqual({
        data: {
          type: 'note',
          id: expect.stringMatching(/^note-\d+$/),
          at: '2026-03-01T12:00:00.000Z',
          text: 'freeze merges',
          agent_id: null,
          priority: 'high',
        },
      });
    });
  });

  describe('ingestion', () => {
    it('stores each (agent, id, fingerprint) once: pushing the same batch twice stores nothing twice', async () => {
      const batch = [dispatch('core/a/task-1'), dispatch('core/b/task-2')];
      const first = await push(hub, hub.tokens.alice, 'alice', batch, 'entry-1');
      expect(first).toMatchObject({ status: 200, body: { accepted: 2, duplicates: 0 } });
      const second = await push(hub, hub.tokens.alice, 'alice', batch, 'entry-2');
      expect(second).toMatchObject({ status: 200, body: { accepted: 0, duplicates: 2 } });
      expect(await hub.storage.versionCount()).toBe(2);
    });

    it('stores a new fingerprint of the same dispatch as a new version', async () => {
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')]);
      const next = dispatch('core/a/task-1', {
        status: 'merged',
        updated_at: '2026-03-01T11:00:00.000Z',
      });
      expect((await push(hub, hub.tokens.alice, 'alice', [next])).body).toEqual({
        accepted: 1,
        duplicates: 0,
      });
      expect(await hub.storage.versionCount()).toBe(2);
    });

    it('replays the first response for a repeated Idempotency-Key and stores nothing', async () => {
      const batch = [dispatch('core/a/task-1'), dispatch('core/b/task-2')];
      const first = await push(hub, hub.tokens.alice, 'alice', batch, 'entry-1');
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      hub.clock.advance(60_000);
      const replay = await push(hub, hub.tokens.alice, 'alice', batch, 'entry-1');
      expect(replay).toMatchObject({ status: 200, body: { accepted: 2, duplicates: 0 } });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await hub.storage.versionCount()).toBe(2);
      // The replay is not a new push either.
      expect((await hub.storage.agent('alice'))?.lastPushAt).toBe('2026-03-01T12:00:00.000Z');
    });

    it('rejects an Idempotency-Key reused for a different batch with 422, storing nothing', async () => {
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')], 'entry-1');
      const res = await push(
        hub,
        hub.tokens.alice,
        'alice',
        [dispatch('core/b/task-2')],
        'entry-1',
      );
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({
        error: { code: 'IDEMPOTENCY_KEY_REUSED', field: 'Idempotency-Key' },
      });
      expect(await hub.storage.versionCount()).toBe(1);
    });

    it('scopes Idempotency-Keys per agent', async () => {
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')], 'entry-1');
      const bob = await push(hub, hub.tokens.bob, 'bob', [dispatch('core/a/task-1')], 'entry-1');
      expect(bob.body).toEqual({ accepted: 1, duplicates: 0 });
    });

    it('rejects a half-bad batch whole with 400 naming the field, storing none of it', async () => {
      const batch = [
        dispatch('core/a/task-1'),
        dispatch('core/a/task-2'),
        dispatch('core/a/task-3'),
        { id: 'core/a/task-4', status: 'completed' },
        dispatch('core/a/task-5'),
      ];
      const res = await push(hub, hub.tokens.alice, 'alice', batch, 'entry-1');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: {
          code: 'INPUT_INVALID',
          message: 'dispatches[3].fingerprint: expected string',
          field: 'dispatches[3].fingerprint',
        },
      });
      expect(await hub.storage.versionCount()).toBe(0);
      expect(await hub.storage.agents()).toEqual([]);
      // The failed key was not remembered: the corrected batch goes through under it.
      const fixed = await push(hub, hub.tokens.alice, 'alice', batch.slice(0, 3), 'entry-1');
      expect(fixed.body).toEqual({ accepted: 3, duplicates: 0 });
    });

    it('names wrongly typed journal fields and top-level fields', async () => {
      const typed = await push(hub, hub.tokens.alice, 'alice', [
        dispatch('core/a/task-1', { runs: 'two' }),
      ]);
      expect(typed.status).toBe(400);
      expect(typed.body).toMatchObject({ error: { field: 'dispatches[0].runs' } });
      const top = await call(hub.url, 'POST', '/v1/agent/sync', {
        token: hub.tokens.alice,
        body: { agent_id: 'alice', dispatches: 'none' },
      });
      expect(top.body).toMatchObject({ error: { message: 'dispatches: expected array' } });
    });

    it('rejects a body that is not JSON, and a malformed Idempotency-Key, with 400', async () => {
      const notJson = await call(hub.url, 'POST', '/v1/agent/sync', {
        token: hub.tokens.alice,
        rawBody: '{"agent_id": "alice", ',
      });
      expect(notJson).toMatchObject({ status: 400, body: { error: { field: 'body' } } });
      const badKey = await push(hub, hub.tokens.alice, 'alice', [], 'has space');
      expect(badKey).toMatchObject({ status: 400, body: { error: { field: 'Idempotency-Key' } } });
    });

    it('keeps unknown record fields verbatim', async () => {
      await push(hub, hub.tokens.alice, 'alice', [
        dispatch('core/a/task-1', { report: { passed: 12, notes: ['ok'] }, custom: 'x' }),
      ]);
      const ctx = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob', {
        token: hub.tokens.bob,
      });
      expect((ctx.body as ContextBody).data[0]?.dispatch).toMatchObject({
        report: { passed: 12, notes: ['ok'] },
        custom: 'x',
      });
    });

    it('accepts a 500-record push under the default body limit', async () => {
      const batch = Array.from({ length: 500 }, (_, i) =>
        dispatch(`core/repo-${i % 7}/task-${i}`, {
          question: 'q'.repeat(400),
          report: { summary: 's'.repeat(600) },
        }),
      );
      const res = await push(hub, hub.tokens.alice, 'alice', batch, 'big');
      expect(res).toMatchObject({ status: 200, body: { accepted: 500, duplicates: 0 } });
      expect(await hub.storage.versionCount()).toBe(500);
    });
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

    it('needs a token', async () => {
      expect((await call(hub.url, 'GET', '/v1/dashboard')).status).toBe(401);
    });
  });

  describe('limits and logs', () => {
    it('rejects a body over the limit with 413 and stores nothing', async () => {
      await hub.close();
      hub = await startFixture(engine, { maxBodyBytes: 4096 });
      const batch = Array.from({ length: 20 }, (_, i) =>
        dispatch(`core/a/task-${i}`, { question: 'x'.repeat(300) }),
      );
      const res = await push(hub, hub.tokens.alice, 'alice', batch);
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
      expect(await hub.storage.versionCount()).toBe(0);
      // Chunked bodies (no Content-Length) are measured as they stream.
      const chunked = await fetch(`${hub.url}/v1/agent/sync`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${hub.tokens.alice}`,
          'content-type': 'application/json',
        },
        body: new Blob([JSON.stringify({ agent_id: 'alice', dispatches: batch })]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      expect(await hub.storage.versionCount()).toBe(0);
    });

    it('logs every request without tokens, headers or query strings', async () => {
      await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')], 'k1');
      await push(hub, hub.tokens.alice, 'bob', [dispatch('core/a/task-1')]);
      await call(hub.url, 'GET', '/v1/agent/status?agent_id=alice', { token: 'agh_wrong-secret' });
      await call(hub.url, 'GET', `/?token=${hub.tokens.admin}`);
      await call(hub.url, 'GET', '/v1/dashboard', { token: hub.tokens.admin });
      const log = hub.logs.join('');
      expect(hub.logs.filter((l) => l.includes('"msg":"request"'))).toHaveLength(5);
      expect(log).toContain('"path":"/v1/agent/sync"');
      expect(log).toContain('"status":403');
      for (const secret of [...Object.values(hub.tokens), 'agh_wrong-secret']) {
        expect(log).not.toContain(secret);
      }
      expect(log.toLowerCase()).not.toContain('bearer');
      expect(log.toLowerCase()).not.toContain('authorization');
    });

    it('serves the dashboard page with a strict Content-Security-Policy', async () => {
      const res = await call(hub.url, 'GET', '/');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toMatch(
        /default-src 'none'; script-src 'sha256-[^']+'/,
      );
      expect(String(res.body)).toContain('<title>agentic hub</title>');
      expect(String(res.body)).not.toMatch(
        /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3)/,
      );
    });
  });
});
