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

describe.each(hubEngines())('hub API on $name', (engine) => {
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
      expect(res.body).toEqual({ status: 'ok', engine: engine.name, schema_version: 2 });
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
