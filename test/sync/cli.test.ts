import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GROUPS } from '../../src/store/index.js';
import { createSyncService } from '../../src/sync/index.js';
import { json, runCli } from '../helpers/cli.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { hubEnv, seedHistory } from '../helpers/sync.js';

describe('agentic sync CLI', { timeout: 120_000 }, () => {
  let root: TempRoot;
  let hub: FakeHub;
  let env: Record<string, string>;

  beforeEach(async () => {
    root = tempRoot();
    hub = await FakeHub.start();
    env = { ...root.env, ...hubEnv(hub.url) };
  });
  afterEach(async () => {
    await hub.stop();
    root.cleanup();
  });

  const seed = async (n: number) => {
    const ctx = testContext(root);
    await seedHistory(ctx, n);
    await ctx.close();
  };

  /** Every record of every push request, replays included. */
  const sentRecords = () =>
    hub.pushes.flatMap((r) =>
      (r.body as { dispatches: Array<{ id: string; fingerprint: string }> }).dispatches.map(
        (d) => `${d.id}|${d.fingerprint}`,
      ),
    );

  it('push, status, pull and retry-dropped print the documented JSON', async () => {
    await seed(3);
    const push = await runCli(['sync', 'push', '--json'], env);
    expect(push.code).toBe(0);
    expect(json(push)).toMatchObject({ success: true, count: 3, queued: 0 });

    hub.contextItems = [{ type: 'note', id: 'note-1', at: '2026-01-01T00:00:00.000Z', text: 'x' }];
    const pull = await runCli(['sync', 'pull', '--json'], env);
    expect(json(pull)).toMatchObject({ success: true, count: 1, context: [{ id: 'note-1' }] });

    const status = json(await runCli(['sync', 'status', '--json'], env));
    expect(status).toMatchObject({
      agent_id: 'node-a',
      status: 'online',
      queued: 0,
      dropped: 0,
      context_count: 1,
    });
    expect(typeof status['last_push_at']).toBe('string');
    expect(typeof status['last_pull_at']).toBe('string');

    const retry = await runCli(['sync', 'retry-dropped', '--json'], env);
    expect(json(retry)).toEqual({ success: true, count: 0, records: 0, pushed: 0 });

    const human = await runCli(['sync', 'status'], env);
    expect(human.stdout).toMatch(/agent node-a: online/);
  });

  it('exits 1 when an entry is dropped, and retry-dropped brings it back', async () => {
    await seed(1);
    hub.script('sync', { status: 400 });
    const push = await runCli(['sync', 'push', '--json'], env);
    expect(push.code).toBe(1);
    expect(json(push)).toMatchObject({ success: false, dropped: 1 });
    const retry = await runCli(['sync', 'retry-dropped', '--json'], env);
    expect(retry.code).toBe(0);
    expect(json(retry)).toEqual({ success: true, count: 1, records: 1, pushed: 1 });
  });

  it('sync pull exits 1 with success:false and the reason when the hub fails, though it serves the cache', async () => {
    hub.contextItems = [{ type: 'note', id: 'note-1', at: '2026-01-01T00:00:00.000Z', text: 'x' }];
    expect((await runCli(['sync', 'pull', '--json'], env)).code).toBe(0);
    hub.script('context', { status: 500 });
    const failed = await runCli(['sync', 'pull', '--json'], env);
    expect(failed.code).toBe(1);
    expect(json(failed)).toMatchObject({ success: false, source: 'cache', count: 1 });
    expect(json<{ error: string }>(failed).error).toMatch(/500/);
    hub.script('context', { status: 500 });
    const human = await runCli(['sync', 'pull'], env);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/sync pull failed/);
  });

  it('offline: push queues, status says offline, pull --since garbage is a usage error', async () => {
    await seed(2);
    const { CORE_AGENT_API_KEY: _token, ...offline } = env;
    expect(json(await runCli(['sync', 'push', '--json'], offline))).toMatchObject({
      success: true,
      count: 0,
      queued: 1,
      offline: 'no token',
    });
    expect(json(await runCli(['sync', 'status', '--json'], offline))).toMatchObject({
      status: 'offline',
      queued: 1,
    });
    const bad = await runCli(['sync', 'pull', '--since', 'last tuesday', '--json'], offline);
    expect(bad.code).toBe(2);
    expect(json(bad)).toMatchObject({ error: { code: 'INPUT_INVALID', field: 'since' } });
    expect(hub.requests).toHaveLength(0);
  });

  it('two processes pushing at once send every record exactly once', async () => {
    writeFileSync(join(root.coreRoot, 'agents.yaml'), 'sync:\n  batch_size: 10\n');
    await seed(300);
    const [a, b] = await Promise.all([
      runCli(['sync', 'push', '--json'], env),
      runCli(['sync', 'push', '--json'], env),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect((json(a)['count'] as number) + (json(b)['count'] as number)).toBe(300);
    const sent = sentRecords();
    expect(sent).toHaveLength(300);
    expect(new Set(sent).size).toBe(300);
    expect(hub.stored.size).toBe(300);
    const ctx = testContext(root);
    const store = await ctx.store();
    expect(await store.count(GROUPS.syncQueue)).toBe(0);
    expect(await store.count(GROUPS.syncLedger)).toBe(300);
    await ctx.close();
  });

  it('two degraded processes share queue.json through the lock file without losing or repeating entries', async () => {
    mkdirSync(join(root.coreRoot, 'db.sqlite'));
    writeFileSync(join(root.coreRoot, 'agents.yaml'), 'sync:\n  batch_size: 5\n');
    await hub.stop();
    const ctx = testContext(root, { env: hubEnv(hub.url) });
    const dispatches = Array.from({ length: 100 }, (_, i) => ({
      workspace: `core/r${i}/task-1`,
      updated_at: '2026-01-01T00:00:00.000Z',
      runs: 1,
    }));
    expect((await (await createSyncService(ctx)).push({ dispatches })).queued).toBe(20);
    await ctx.close();
    await hub.listen();

    const [a, b] = await Promise.all([
      runCli(['sync', 'push', '--json'], env),
      runCli(['sync', 'push', '--json'], env),
    ]);
    expect((json(a)['count'] as number) + (json(b)['count'] as number)).toBe(100);
    const sent = sentRecords();
    expect(sent).toHaveLength(100);
    expect(new Set(sent).size).toBe(100);
    expect(json(await runCli(['sync', 'status', '--json'], env))).toMatchObject({
      degraded: true,
      queued: 0,
    });
  });
});
