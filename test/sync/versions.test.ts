import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { commitWorkspace } from '../../src/lifecycle/commit.js';
import { trackWorkspace } from '../../src/lifecycle/index.js';
import { createSyncService, type FetchLike } from '../../src/sync/index.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';
import { call, dispatch, hubEngines, push, startFixture, type HubFixture } from '../hub/fixture.js';

/** Every item the hub's context answers carried, in arrival order (the node's own fetch, wrapped). */
function recordingFetch(seen: Array<Record<string, unknown>>): FetchLike {
  return async (url, init) => {
    const res = await fetch(url, init);
    if (!url.includes('/v1/agent/context')) return res;
    const text = await res.text();
    try {
      seen.push(...(JSON.parse(text) as { data: Array<Record<string, unknown>> }).data);
    } catch {
      // Not JSON: the client reports it.
    }
    return new Response(text, { status: res.status, headers: res.headers });
  };
}

describe.each(hubEngines())(
  'every committed version and every context change on $name',
  (engine) => {
    let hub: HubFixture;
    let root: TempRoot;
    const contexts: AppContext[] = [];

    beforeEach(async () => {
      hub = await startFixture(engine);
      root = tempRoot();
    });
    afterEach(async () => {
      for (const ctx of contexts.splice(0)) await ctx.close();
      await hub?.close();
      root?.cleanup();
    });

    /** A node acting as `agent` with its hub token, on its own clock. */
    const node = (agent: 'alice' | 'bob', clock: ManualClock, sub = agent): AppContext => {
      const coreRoot = join(root.coreRoot, sub);
      mkdirSync(coreRoot, { recursive: true });
      const ctx = testContext(
        { ...root, coreRoot, env: { ...root.env, CORE_WORKSPACE: coreRoot } },
        {
          clock,
          env: { CORE_API_URL: hub.url, CORE_AGENT_API_KEY: hub.tokens[agent], AGENT_NAME: agent },
        },
      );
      contexts.push(ctx);
      return ctx;
    };

    const versionsOnHub = async (agent: string, id: string): Promise<string[]> => {
      const res = await call(hub.url, 'GET', `/v1/dashboard?agent_id=${agent}`, {
        token: hub.tokens.admin,
      });
      expect(res.status).toBe(200);
      return (res.body as { dispatches: Array<{ id: string; status: string }> }).dispatches
        .filter((d) => d.id === id)
        .map((d) => d.status);
    };

    it('pushes both versions of a workspace blocked, then resumed and completed before any push; a re-push of a version is a duplicate', async () => {
      const clock = new ManualClock(new Date('2026-03-01T09:00:00.000Z'));
      const ctx = node('alice', clock);
      const name = 'core/go-io/task-1';
      const at = (): string => clock.now().toISOString();
      await trackWorkspace(ctx, name, sampleRecord({ status: 'queued', updated_at: at() }));
      clock.advance(1000);
      await trackWorkspace(
        ctx,
        name,
        sampleRecord({ status: 'running', runs: 1, updated_at: at() }),
      );
      clock.advance(60_000);
      const blockedAt = at();
      await trackWorkspace(
        ctx,
        name,
        sampleRecord({ status: 'blocked', runs: 1, question: 'which API?', updated_at: blockedAt }),
      );
      expect(await commitWorkspace(ctx, name)).toMatchObject({ skipped: false });
      // Resumed: the answer comes, the agent runs again and completes — all before any push.
      clock.advance(60_000);
      await trackWorkspace(
        ctx,
        name,
        sampleRecord({ status: 'queued', runs: 1, updated_at: at() }),
      );
      clock.advance(1000);
      await trackWorkspace(
        ctx,
        name,
        sampleRecord({ status: 'running', runs: 2, updated_at: at() }),
      );
      clock.advance(60_000);
      const completedAt = at();
      await trackWorkspace(
        ctx,
        name,
        sampleRecord({ status: 'completed', runs: 2, updated_at: completedAt }),
      );
      expect(await commitWorkspace(ctx, name)).toMatchObject({ skipped: false });

      const sync = await createSyncService(ctx);
      expect(await sync.push()).toMatchObject({ success: true, count: 2, queued: 0 });
      expect(await hub.storage.versionCount()).toBe(2);
      // The hub's current version is the completed one; both versions are stored.
      expect(await versionsOnHub('alice', name)).toEqual(['completed']);
      expect(await sync.push()).toMatchObject({ count: 0 });

      // The same version again (another node's retry, a rebuilt ledger): stored once.
      const again = await push(hub, hub.tokens.alice, 'alice', [
        dispatch(name, { status: 'blocked', runs: 1, updated_at: blockedAt }),
        dispatch(name, { status: 'completed', runs: 2, updated_at: completedAt }),
      ]);
      expect(again).toMatchObject({ status: 200, body: { accepted: 0, duplicates: 2 } });
      expect(
        await sync.push({
          dispatches: [{ id: name, status: 'blocked', runs: 1, updated_at: blockedAt }],
        }),
      ).toMatchObject({ success: true, count: 1 });
      expect(await hub.storage.versionCount()).toBe(2);

      // Bob's context shows the current version; the blocked one is on the hub as a version.
      const bob = await createSyncService(node('bob', new ManualClock()));
      const pulled = await bob.pull();
      expect(pulled.context).toEqual([
        expect.objectContaining({ id: name, agent_id: 'alice', fingerprint: `${completedAt}#2` }),
      ]);
    });

    it('pulls every page after its cursor in one sync pull: 1,500 newer dispatches and an operator note older than all of them', async () => {
      const bobClock = new ManualClock(new Date('2026-03-01T12:00:00.000Z'));
      const seen: Array<Record<string, unknown>> = [];
      const bob = await createSyncService(node('bob', bobClock), { fetch: recordingFetch(seen) });
      expect(await bob.pull()).toMatchObject({ success: true, fetched: 0 });

      const note = await call(hub.url, 'POST', '/v1/agent/context', {
        token: hub.tokens.admin,
        body: { text: 'freeze main until the release is out' },
      });
      expect(note.status).toBe(201);
      const ids: string[] = [];
      for (let batch = 0; batch < 3; batch++) {
        hub.clock.advance(1000);
        const records = Array.from({ length: 500 }, (_, i) => {
          const id = `core/repo-${batch * 500 + i}/task-1`;
          ids.push(id);
          return dispatch(id);
        });
        expect(await push(hub, hub.tokens.alice, 'alice', records)).toMatchObject({ status: 200 });
      }

      seen.length = 0;
      bobClock.advance(60_000);
      const pulled = await bob.pull();
      expect(pulled).toMatchObject({ success: true, source: 'hub', fetched: 1501, pages: 2 });
      expect(pulled.warning).toBeUndefined();
      expect(new Set(seen.filter((i) => i['type'] === 'dispatch').map((i) => i['id']))).toEqual(
        new Set(ids),
      );
      // The cache keeps the newest 1,000 dispatches, and the note however many came after it.
      expect(pulled.context.filter((i) => i['type'] === 'note').map((i) => i['text'])).toEqual([
        'freeze main until the release is out',
      ]);
      expect(pulled.context.filter((i) => i['type'] === 'dispatch')).toHaveLength(1000);
      expect(pulled.context[0]).toMatchObject({ id: ids.at(-1) });

      // Nothing new: the next pull starts at the hub's cursor and gets nothing.
      expect(await bob.pull()).toMatchObject({ success: true, fetched: 0, pages: 1 });
    });

    it('resumes an interrupted pull at the hub cursor it stored with the last page it merged', async () => {
      const requests: string[] = [];
      let failSecond = true;
      const flaky: FetchLike = async (url, init) => {
        if (url.includes('/v1/agent/context')) {
          requests.push(new URL(url).searchParams.get('cursor') ?? '');
          if (failSecond && requests.length === 2) return new Response('down', { status: 503 });
        }
        return fetch(url, init);
      };
      const bob = await createSyncService(node('bob', new ManualClock()), { fetch: flaky });
      const records = Array.from({ length: 1200 }, (_, i) => dispatch(`core/r-${i}/task-1`));
      for (let i = 0; i < records.length; i += 400)
        await push(hub, hub.tokens.alice, 'alice', records.slice(i, i + 400));

      const interrupted = await bob.pull();
      expect(interrupted).toMatchObject({
        success: false,
        source: 'cache',
        fetched: 1000,
        pages: 1,
      });
      expect(interrupted.error).toMatch(/503/);
      expect(interrupted.context).toHaveLength(1000);
      failSecond = false;
      const resumed = await bob.pull();
      expect(resumed).toMatchObject({ success: true, fetched: 200, pages: 1 });
      expect(requests[2]).toBe(requests[1]);
      expect(requests[2]).not.toBe('0');
    });

    it.each([
      ['far ahead of', '2040-01-01T00:00:00.000Z'],
      ['far behind', '2001-01-01T00:00:00.000Z'],
    ])(
      'loses nothing when the node clock is %s the hub: the cursor is the hub’s',
      async (_, skewed) => {
        const bobClock = new ManualClock(new Date(skewed));
        const bob = await createSyncService(node('bob', bobClock));
        await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')]);
        expect(await bob.pull()).toMatchObject({ success: true, fetched: 1 });

        hub.clock.advance(1000);
        await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-2')]);
        await call(hub.url, 'POST', '/v1/agent/context', {
          token: hub.tokens.admin,
          body: { text: 'rebase on trunk', agent_id: 'bob' },
        });
        bobClock.advance(1000);
        const second = await bob.pull();
        expect(second).toMatchObject({ success: true, fetched: 2 });
        expect(second.context.map((i) => i['id'] ?? i['text'])).toEqual([
          expect.stringMatching(/^note-/),
          'core/a/task-2',
          'core/a/task-1',
        ]);
        expect(await bob.pull()).toMatchObject({ fetched: 0 });
      },
    );
  },
);
