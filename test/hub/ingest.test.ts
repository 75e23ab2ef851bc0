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

describe.each(hubEngines())('hub ingestion on $name', (engine) => {
  let hub: HubFixture;
  beforeEach(async () => {
    hub = await startFixture(engine);
  });
  afterEach(async () => {
    await hub?.close();
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

    it('stores a batch once when the same key arrives on several connections at once', async () => {
      // Big enough that the transactions overlap; a lost race would show as a 5xx or a double count.
      const batch = Array.from({ length: 400 }, (_, i) => dispatch(`core/a/task-${i}`));
      const results = await Promise.all(
        Array.from({ length: 8 }, () => push(hub, hub.tokens.alice, 'alice', batch, 'entry-1')),
      );
      expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
      for (const r of results) expect(r.body).toEqual({ accepted: 400, duplicates: 0 });
      expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(
        7,
      );
      expect(await hub.storage.versionCount()).toBe(400);
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

    it('refuses a record nested 4,100 levels deep with 400 naming the limit, and context pulls keep working', async () => {
      // Built as text: JSON.stringify itself overflows the stack on such a value.
      const deep = `${'{"d":'.repeat(4100)}"bottom"${'}'.repeat(4100)}`;
      const records = [dispatch('core/a/task-1'), dispatch('core/a/task-2')];
      const rawBody = JSON.stringify({ agent_id: 'alice', dispatches: records }).replace(
        '"id":"core/a/task-2"',
        `"id":"core/a/task-2","extra":${deep}`,
      );
      const res = await call(hub.url, 'POST', '/v1/agent/sync', {
        token: hub.tokens.alice,
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error: {
          code: 'INPUT_INVALID',
          field: 'dispatches[1]',
          message: expect.stringContaining('at most 32 levels'),
        },
      });
      expect(await hub.storage.versionCount()).toBe(0);
      const pulled = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob', {
        token: hub.tokens.bob,
      });
      expect(pulled.status).toBe(200);
    });

    it('refuses an oversized record and a deeply nested note with 400 naming the limit', async () => {
      const big = await push(hub, hub.tokens.alice, 'alice', [
        dispatch('core/a/task-1', { blob: 'x'.repeat(300 * 1024) }),
      ]);
      expect(big).toMatchObject({
        status: 400,
        body: {
          error: {
            field: 'dispatches[0]',
            message: expect.stringContaining('at most 262144 bytes'),
          },
        },
      });
      let deep: unknown = 1;
      for (let i = 0; i < 100; i++) deep = [deep];
      const note = await call(hub.url, 'POST', '/v1/agent/context', {
        token: hub.tokens.admin,
        body: { text: 'hello', extra: deep },
      });
      expect(note).toMatchObject({ status: 400, body: { error: { code: 'INPUT_INVALID' } } });
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
});
