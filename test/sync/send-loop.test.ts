import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { GROUPS } from '../../src/store/index.js';
import { createSyncService, SendLoop, type Sleep } from '../../src/sync/index.js';
import { ManualClock, testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { hubEnv, seedHistory } from '../helpers/sync.js';

/** A sleep the test ends by hand: each call is announced, and `fire` moves the clock and resolves it. */
class FakeSleeper {
  readonly calls: number[] = [];
  private current: { ms: number; resolve: () => void } | undefined;
  private announce: ((ms: number) => void) | undefined;
  private announced: number | undefined;

  constructor(private readonly clock: ManualClock) {}

  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve) => {
      this.calls.push(ms);
      this.current = { ms, resolve };
      signal.addEventListener('abort', () => resolve(), { once: true });
      if (this.announce) {
        this.announce(ms);
        this.announce = undefined;
      } else this.announced = ms;
    });

  /** Resolves with the duration of the next sleep the loop asks for. */
  next(): Promise<number> {
    if (this.announced !== undefined) {
      const ms = this.announced;
      this.announced = undefined;
      return Promise.resolve(ms);
    }
    return new Promise((resolve) => (this.announce = resolve));
  }

  /** Lets the current sleep run out: the clock moves by its duration. */
  fire(): void {
    const current = this.current;
    if (!current) throw new Error('no sleep pending');
    this.current = undefined;
    this.clock.advance(current.ms);
    current.resolve();
  }
}

describe.each(engines())('SendLoop on $name', (engine) => {
  let root: TempRoot;
  let hub: FakeHub;
  let ctx: AppContext;
  let clock: ManualClock;
  let sleeper: FakeSleeper;
  let loop: SendLoop | undefined;

  beforeEach(async () => {
    root = await tempRootOn(engine);
    hub = await FakeHub.start();
    clock = new ManualClock(new Date('2026-05-01T00:00:00.000Z'));
    sleeper = new FakeSleeper(clock);
  });
  afterEach(async () => {
    await loop?.close();
    loop = undefined;
    await ctx.close();
    await hub.stop();
    root.cleanup();
  });

  const startDrainer = async (env: Record<string, string> = hubEnv(hub.url), timeoutMs = 2_000) => {
    ctx = testContext(root, { env, clock });
    const service = await createSyncService(ctx, {
      random: () => 0.5,
      requestTimeoutMs: timeoutMs,
    });
    loop = new SendLoop(service, { sleep: sleeper.sleep, idleIntervalMs: 60_000 });
    return loop;
  };

  it('drains on start, sleeps exactly the back-off after failures, then idles once the queue is empty', async () => {
    const d = await startDrainer();
    await seedHistory(ctx, 2);
    // The entry's retries go as four copies (the window's free places), so a failed wave is
    // four failed requests.
    hub.script('sync', { status: 500 }, ...Array(4).fill({ status: 502 }));
    d.start();
    expect(await sleeper.next()).toBe(1_000);
    sleeper.fire();
    expect(await sleeper.next()).toBe(5_000);
    expect(hub.stored.size).toBe(0);
    sleeper.fire();
    expect(await sleeper.next()).toBe(60_000);
    expect(hub.stored.size).toBe(2);
    expect(hub.pushes).toHaveLength(9);
  });

  it('wakes on demand and pushes what a commit added', async () => {
    const d = await startDrainer();
    d.start();
    expect(await sleeper.next()).toBe(60_000);
    expect(hub.pushes).toHaveLength(0);
    await seedHistory(ctx, 1, 'late');
    d.wake();
    expect(await sleeper.next()).toBe(60_000);
    expect([...hub.stored.keys()]).toEqual([
      'node-a|core/late-0/task-1|2026-01-01T00:00:00.000Z#1',
    ]);
  });

  it('close() aborts an in-flight request without counting an attempt and leaves the entry queued', async () => {
    const d = await startDrainer(hubEnv(hub.url), 20_000);
    await seedHistory(ctx, 1);
    hub.script('sync', { kind: 'hang' });
    d.start();
    await hub.waitForRequests(1);
    await d.close();
    expect(d.running).toBe(false);
    const entries = await (await ctx.store()).entries(GROUPS.syncQueue);
    expect(entries).toHaveLength(1);
    const [id, entry] = entries[0]! as [string, Record<string, unknown>];
    expect(entry['attempts']).toBe(0);
    expect(await (await ctx.store()).get(GROUPS.syncState, `lease:${id}`)).toBeUndefined();
  });

  it('does not run without a token', async () => {
    const d = await startDrainer({ CORE_API_URL: hub.url });
    d.start();
    expect(d.running).toBe(false);
    await d.close();
    expect(sleeper.calls).toEqual([]);
  });
});
