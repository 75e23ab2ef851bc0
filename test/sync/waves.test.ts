import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import type { Clock } from '../../src/lib/clock.js';
import { GROUPS } from '../../src/store/index.js';
import { createSyncService, type SyncService } from '../../src/sync/index.js';
import { ManualClock, testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { hubEnv, seedHistory } from '../helpers/sync.js';

const T0 = new Date('2026-04-01T00:00:00.000Z');

describe.each(engines())(
  'sync waves: booking order, late answers and copies on $name',
  (engine) => {
    let root: TempRoot;
    let hub: FakeHub;
    let ctx: AppContext | undefined;

    beforeEach(async () => {
      root = await tempRootOn(engine);
      hub = await FakeHub.start();
    });
    afterEach(async () => {
      await ctx?.close();
      ctx = undefined;
      await hub.stop();
      root.cleanup();
    });

    const open = async (
      clock: Clock,
      options: { window: number; timeoutMs: number; batchSize?: number },
    ): Promise<SyncService> => {
      if (options.batchSize !== undefined)
        writeFileSync(
          join(root.coreRoot, 'agents.yaml'),
          `sync:\n  batch_size: ${options.batchSize}\n`,
        );
      ctx = testContext(root, { env: hubEnv(hub.url), clock });
      return createSyncService(ctx, {
        random: () => 0.5,
        requestTimeoutMs: options.timeoutMs,
        window: options.window,
      });
    };
    const store = async () => {
      if (ctx === undefined) throw new Error('no context');
      return ctx.store();
    };
    const queued = async () =>
      (await (await store()).entries(GROUPS.syncQueue)).map(
        ([, v]) => v as { attempts: number; next_attempt: string },
      );
    const at = (ms: number) => new Date(T0.getTime() + ms).toISOString();
    /** `records` history records queued as one entry, whose first drain the hub answered 503. */
    const failedOnce = async (records: number) => {
      const clock = new ManualClock(T0);
      const sync = await open(clock, { window: 4, timeoutMs: 2_000 });
      await seedHistory(ctx!, records);
      await sync.enqueue();
      hub.script('sync', { status: 503 });
      const first = await sync.send();
      return { clock, sync, first };
    };

    it('books answers as they arrive, so a request that hangs does not hold back the entries behind it', async () => {
      const sync = await open(new ManualClock(T0), { window: 2, timeoutMs: 20_000, batchSize: 1 });
      await seedHistory(ctx!, 4);
      hub.script('sync', { kind: 'hang' });
      const stop = new AbortController();
      const pushing = sync.push({ signal: stop.signal });
      // With two in flight, the third and fourth requests can only go once the second and third
      // answers were booked, all while the first request still hangs.
      await hub.waitForRequests(4);
      stop.abort();
      const report = await pushing;
      expect(report.count).toBeGreaterThanOrEqual(2);
      const [left] = await queued();
      // The hung request was cut by the shutdown: not an attempt.
      expect(left).toMatchObject({ attempts: 0 });
    });

    it('does not step the back-off again for a request that times out after its wave’s hold ended', async () => {
      // The clock runs 20 times faster than real time: the 200 ms request timeout is 4 s on it,
      // so the timed-out request's answer comes after the 1 s hold its neighbour's 503 started.
      const started = Date.now();
      const fast: Clock = { now: () => new Date(T0.getTime() + (Date.now() - started) * 20) };
      const sync = await open(fast, { window: 2, timeoutMs: 200, batchSize: 1 });
      await seedHistory(ctx!, 2);
      await sync.enqueue();
      hub.script('sync', { status: 503 }, { kind: 'hang' });
      const result = await sync.send();
      expect(result).toMatchObject({ sent: 0, remaining: 2 });
      const marks = (await (await store()).get(GROUPS.syncState, 'status')) as {
        failure_streak: number;
      };
      // One failed wave: the 1 s step, not the 5 s one.
      expect(marks.failure_streak).toBe(1);
      expect((await queued()).map((e) => e.attempts)).toEqual([1, 1]);
    });

    it('sends a last entry whose request failed as copies that fill the window, and books it once', async () => {
      const { clock, sync, first } = await failedOnce(2);
      expect(first).toMatchObject({ sent: 0, remaining: 1 });
      expect(hub.pushes).toHaveLength(1);
      clock.advance(1_000);
      // Three of the four copies fail; one is enough.
      hub.script('sync', { status: 503 }, { status: 503 }, { status: 503 });
      expect(await sync.send()).toMatchObject({ sent: 1, pushed: 2, remaining: 0 });
      expect(hub.pushes).toHaveLength(5);
      const keys = new Set(hub.pushes.map((p) => p.headers['idempotency-key']));
      expect(keys.size).toBe(1);
      const bodies = new Set(hub.pushes.map((p) => JSON.stringify(p.body)));
      expect(bodies.size).toBe(1);
      expect(hub.stored.size).toBe(2);
      const history = (await (await store()).entries(GROUPS.syncHistory)).map(
        ([, v]) => (v as { direction: string }).direction,
      );
      expect(history).toEqual(['push']);
    });

    it('counts a wave of copies that all fail as one attempt and one step of the back-off', async () => {
      const { clock, sync } = await failedOnce(1);
      clock.advance(1_000);
      hub.script('sync', { status: 503 }, { status: 502 }, { status: 500 }, { status: 503 });
      expect(await sync.send()).toMatchObject({ sent: 0, remaining: 1, nextAttemptAt: at(6_000) });
      expect(hub.pushes).toHaveLength(5);
      expect(await queued()).toEqual([
        expect.objectContaining({ attempts: 2, next_attempt: at(6_000) }),
      ]);
    });

    it('sends no copies on a forced push, which ignores the back-off copies protect', async () => {
      const { sync } = await failedOnce(1);
      expect(await sync.push()).toMatchObject({ count: 1, queued: 0 });
      expect(hub.pushes).toHaveLength(2);
    });
  },
);
