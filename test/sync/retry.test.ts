import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { GROUPS } from '../../src/store/index.js';
import { createSyncService, type SyncService } from '../../src/sync/index.js';
import { ManualClock, testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { hubEnv, seedHistory } from '../helpers/sync.js';

const T0 = new Date('2026-03-01T00:00:00.000Z');

describe.each(engines())('sync retries and drops on $name', (engine) => {
  let root: TempRoot;
  let hub: FakeHub;
  let ctx: AppContext;
  let clock: ManualClock;
  let sync: SyncService;

  // Generous: a request that is meant to succeed must not time out on a loaded machine. Only the
  // test of a hanging hub uses a short timeout, and a hang never answers whatever the load.
  const open = async (env: Record<string, string> = {}, requestTimeoutMs = 15_000) => {
    ctx = testContext(root, { env: hubEnv(hub.url, env), clock });
    // One request at a time keeps the scripted answers in a known order.
    sync = await createSyncService(ctx, { random: () => 0.5, requestTimeoutMs, window: 1 });
  };

  beforeEach(async () => {
    root = await tempRootOn(engine);
    hub = await FakeHub.start();
    clock = new ManualClock(T0);
    await open();
  });
  afterEach(async () => {
    await ctx.close();
    await hub.stop();
    root.cleanup();
  });

  const head = async () => {
    const entries = await (await ctx.store()).entries(GROUPS.syncQueue);
    return entries[0]?.[1] as
      { attempts: number; next_attempt: string; last_error?: string } | undefined;
  };
  const at = (ms: number) => new Date(T0.getTime() + ms).toISOString();
  const history = () =>
    JSON.parse(readFileSync(join(root.coreRoot, 'sync', 'history.json'), 'utf8')) as Array<
      Record<string, unknown>
    >;

  it('retries 5xx on 1 s → 5 s → 15 s → 60 s → 5 min → 5 min and only once the back-off has passed', async () => {
    await seedHistory(ctx, 2);
    await sync.enqueue();
    const expected = [1_000, 5_000, 15_000, 60_000, 300_000, 300_000];
    let elapsed = 0;
    for (const [i, delay] of expected.entries()) {
      hub.script('sync', { status: 503 });
      const result = await sync.send();
      expect(result).toMatchObject({
        pushed: 0,
        remaining: 1,
        lastError: expect.stringMatching(/HTTP 503/),
      });
      expect(await head()).toMatchObject({ attempts: i + 1, next_attempt: at(elapsed + delay) });
      // Not yet due: nothing is sent.
      clock.advance(delay - 1);
      expect((await sync.send()).sent).toBe(0);
      expect(hub.pushes).toHaveLength(i + 1);
      clock.advance(1);
      elapsed += delay;
    }
    const done = await sync.send();
    expect(done).toMatchObject({ pushed: 2, remaining: 0 });
    expect(hub.stored.size).toBe(2);
  });

  it('honours Retry-After seconds and HTTP dates on 429, and retries 408', async () => {
    await seedHistory(ctx, 1);
    await sync.enqueue();
    hub.script('sync', { status: 429, headers: { 'retry-after': '7' } });
    await sync.send();
    expect(await head()).toMatchObject({ attempts: 1, next_attempt: at(7_000) });
    clock.advance(7_000);
    hub.script('sync', {
      status: 429,
      headers: { 'retry-after': new Date(T0.getTime() + 7_000 + 42_000).toUTCString() },
    });
    await sync.send();
    expect(await head()).toMatchObject({ attempts: 2, next_attempt: at(49_000) });
    clock.advance(42_000);
    hub.script('sync', { status: 408 });
    await sync.send();
    expect(await head()).toMatchObject({ attempts: 3, next_attempt: at(49_000 + 15_000) });
  });

  it('retries a request that times out and one whose connection is reset', async () => {
    await ctx.close();
    await open({}, 2_000);
    await seedHistory(ctx, 1);
    await sync.enqueue();
    hub.script('sync', { kind: 'hang' });
    const timedOut = await sync.send();
    expect(timedOut.lastError).toMatch(/timeout after 2000 ms/);
    expect(await head()).toMatchObject({ attempts: 1, next_attempt: at(1_000) });
    clock.advance(1_000);
    // One reset is taken for a stale keep-alive connection and retried at once; two are a failure.
    hub.script('sync', { kind: 'reset' }, { kind: 'reset' });
    const reset = await sync.send();
    expect(reset.lastError).toMatch(/network error/);
    expect(await head()).toMatchObject({ attempts: 2, next_attempt: at(1_000 + 5_000) });
    clock.advance(5_000);
    hub.script('sync', { kind: 'reset' });
    expect(await sync.send()).toMatchObject({ pushed: 1, remaining: 0 });
    expect(hub.pushes).toHaveLength(5);
  });

  it('drops an entry at once on 400, writes a drop record, and does not queue its records again', async () => {
    await seedHistory(ctx, 2);
    hub.script('sync', { status: 400, body: { error: 'dispatches[0].status: invalid' } });
    const report = await sync.push();
    expect(report).toMatchObject({ success: false, count: 0, dropped: 1, queued: 0 });
    expect(hub.pushes).toHaveLength(1);
    const dropped = (await (await ctx.store()).entries(GROUPS.syncDropped)).map(([, v]) => v);
    expect(dropped).toEqual([
      expect.objectContaining({
        attempts: 1,
        reason: expect.stringMatching(/HTTP 400.*status: invalid/),
      }),
    ]);
    expect(history().at(-1)).toMatchObject({
      direction: 'drop',
      agent_id: 'node-a',
      items_count: 2,
      attempts: 1,
      reason: expect.stringMatching(/HTTP 400/),
    });
    expect(
      JSON.parse(readFileSync(join(root.coreRoot, 'sync', 'dropped.json'), 'utf8')),
    ).toHaveLength(1);
    // The records are in the dead-letter list: a new push does not resend them.
    expect(await sync.push()).toMatchObject({ count: 0, dropped: 0 });
    expect(hub.pushes).toHaveLength(1);
  });

  it('drops after the configured max attempts with the attempts and the last reason', async () => {
    await ctx.close();
    await open({ CORE_AGENT_SYNC_MAX_ATTEMPTS: '3' });
    await seedHistory(ctx, 1);
    await sync.enqueue();
    for (let i = 0; i < 3; i++) {
      hub.script('sync', { status: 500 });
      await sync.send({ force: true });
    }
    expect(await head()).toBeUndefined();
    expect(hub.pushes).toHaveLength(3);
    expect(history().at(-1)).toMatchObject({
      direction: 'drop',
      attempts: 3,
      reason: expect.stringMatching(/gave up after 3 attempts: HTTP 500/),
    });
    const status = await sync.status();
    expect(status).toMatchObject({ queued: 0, dropped: 1 });
  });

  it('a 403 names the agent id used and how to fix it; retry-dropped then pushes as the fixed identity', async () => {
    await ctx.close();
    await open({ AGENT_NAME: 'wrong-host' });
    await seedHistory(ctx, 2);
    hub.script('sync', { status: 403, body: { error: { code: 'FORBIDDEN' } } });
    const first = await sync.push();
    expect(first).toMatchObject({ success: false, dropped: 1 });
    expect(first.error).toMatch(/pushed as agent id "wrong-host"; set AGENT_NAME/);
    await ctx.close();
    await open({ AGENT_NAME: 'node-a' });
    const report = await sync.retryDropped();
    expect(report).toMatchObject({ success: true, count: 1, pushed: 2 });
    const last = hub.pushes.at(-1)?.body as { agent_id: string };
    expect(last.agent_id).toBe('node-a');
  });

  it('retry-dropped requeues dropped entries with a fresh attempt count and pushes them', async () => {
    await seedHistory(ctx, 3);
    hub.script('sync', { status: 422 });
    await sync.push();
    expect((await sync.status()).dropped).toBe(1);
    const report = await sync.retryDropped();
    expect(report).toEqual({ success: true, count: 1, records: 3, pushed: 3 });
    expect(await sync.status()).toMatchObject({ queued: 0, dropped: 0 });
    expect(hub.stored.size).toBe(3);
    // Same entry, same Idempotency-Key.
    expect(hub.pushes[0]!.headers['idempotency-key']).toBe(
      hub.pushes[1]!.headers['idempotency-key'],
    );
  });

  it('a retryable failure holds the whole queue for the back-off, then entries go oldest first', async () => {
    await ctx.close();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root.coreRoot, 'agents.yaml'), 'sync:\n  batch_size: 1\n');
    await open();
    await seedHistory(ctx, 2);
    await sync.enqueue();
    hub.script('sync', { status: 500 });
    const first = await sync.send();
    expect(first).toMatchObject({ sent: 0, remaining: 2, nextAttemptAt: at(1_000) });
    expect(hub.pushes).toHaveLength(1);
    clock.advance(1_000);
    expect(await sync.send()).toMatchObject({ sent: 2, remaining: 0 });
    const ids = hub.pushes.map(
      (r) => (r.body as { dispatches: Array<{ id: string }> }).dispatches[0]!.id,
    );
    expect(ids).toEqual(['core/repo-0/task-1', 'core/repo-0/task-1', 'core/repo-1/task-1']);
  });

  it('after a success, a permanent error on the next entry drops only that one, and a 5xx stops the rest', async () => {
    await ctx.close();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root.coreRoot, 'agents.yaml'), 'sync:\n  batch_size: 1\n');
    await open();
    await seedHistory(ctx, 5);
    hub.script(
      'sync',
      { status: 200, body: {} },
      { status: 400 },
      { status: 200, body: {} },
      { status: 503 },
    );
    const report = await sync.push();
    // Entry 1 and 3 were accepted (the scripted 200s store nothing), 2 dropped, 4 backs off, 5 waits.
    expect(report).toMatchObject({ success: false, count: 2, dropped: 1, queued: 2 });
    expect(hub.pushes).toHaveLength(4);
    expect(await head()).toMatchObject({ attempts: 1, next_attempt: at(1_000) });
    const ledger = await (await ctx.store()).entries(GROUPS.syncLedger);
    expect(ledger.map(([id]) => id)).toEqual(['core/repo-0/task-1', 'core/repo-2/task-1']);
  });

  it('with several requests in flight, a success releases an entry that failed beside it', async () => {
    await ctx.close();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root.coreRoot, 'agents.yaml'), 'sync:\n  batch_size: 1\n');
    ctx = testContext(root, { env: hubEnv(hub.url), clock });
    sync = await createSyncService(ctx, { random: () => 0.5, requestTimeoutMs: 15_000, window: 4 });
    await seedHistory(ctx, 6);
    // Whichever request arrives first fails; the others succeed, so the hub is healthy and the
    // failed entry goes again in the same pass instead of waiting out its back-off.
    hub.script('sync', { status: 503 });
    const result = await sync.push();
    expect(result).toMatchObject({ success: true, count: 6, queued: 0 });
    expect(hub.pushes).toHaveLength(7);
    expect(hub.stored.size).toBe(6);
  });
});
