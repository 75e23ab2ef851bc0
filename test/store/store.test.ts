import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GROUPS, openStateStore, type StateStore } from '../../src/store/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { engines } from '../helpers/engines.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';

describe.each(engines())('state store on $name', (engine) => {
  let root: TempRoot;
  let store: StateStore;

  beforeEach(async () => {
    root = tempRoot();
    ({ store } = await openStateStore({
      coreRoot: root.coreRoot,
      workspaceRoot: join(root.coreRoot, 'workspace'),
      storeUrl: await engine.storeUrl(),
      logger: silentLogger(),
    }));
  });
  afterEach(async () => {
    await store.close();
    root.cleanup();
  });

  it('opens healthy with the latest schema', () => {
    expect(store.degraded).toBe(false);
    expect(store.engine).toBe(engine.name);
    expect(store.schemaVersion).toBeGreaterThanOrEqual(1);
  });

  it('round-trips set and iterate, ordered by key', async () => {
    await store.set(GROUPS.registry, 'core/b/task-2', { status: 'queued', n: 2 });
    await store.set(GROUPS.registry, 'core/a/task-1', { status: 'running', nested: { x: [1, 2] } });
    await store.set(GROUPS.queue, 'core/b/task-2', { agent: 'codex' });
    expect(await store.entries(GROUPS.registry)).toEqual([
      ['core/a/task-1', { status: 'running', nested: { x: [1, 2] } }],
      ['core/b/task-2', { status: 'queued', n: 2 }],
    ]);
    expect(await store.count(GROUPS.registry)).toBe(2);
    expect(await store.count(GROUPS.queue)).toBe(1);
    expect(await store.get(GROUPS.registry, 'core/a/task-1')).toEqual({
      status: 'running',
      nested: { x: [1, 2] },
    });
  });

  it('pages a group by key, each page starting after the last key of the previous one', async () => {
    for (const n of [5, 1, 4, 2, 3]) await store.set(GROUPS.registry, `core/r/task-${n}`, { n });
    await store.set(GROUPS.queue, 'core/r/task-0', { other: true });
    const first = await store.entries(GROUPS.registry, { limit: 2 });
    expect(first).toEqual([
      ['core/r/task-1', { n: 1 }],
      ['core/r/task-2', { n: 2 }],
    ]);
    const second = await store.entries(GROUPS.registry, { limit: 2, after: 'core/r/task-2' });
    expect(second.map(([key]) => key)).toEqual(['core/r/task-3', 'core/r/task-4']);
    const last = await store.entries(GROUPS.registry, { limit: 2, after: 'core/r/task-4' });
    expect(last).toEqual([['core/r/task-5', { n: 5 }]]);
    expect(await store.entries(GROUPS.registry, { limit: 2, after: 'core/r/task-5' })).toEqual([]);
  });

  it('pages the queue in claim order, resuming after a row and leaving out closed pools', async () => {
    const at = (s: number): string => `2026-01-01T00:00:0${s}.000Z`;
    const entry = (agent: string, priority: unknown, queued_at: unknown) => ({
      agent,
      priority,
      queued_at,
    });
    await store.set(GROUPS.queue, 'core/r/old-low', entry('codex', 0, at(1)));
    await store.set(GROUPS.queue, 'core/r/new-high', entry('claude:opus', 5, at(3)));
    await store.set(GROUPS.queue, 'core/r/old-high', entry('codex', 5, at(2)));
    await store.set(GROUPS.queue, 'core/r/b-tie', entry('shell', 0, at(4)));
    await store.set(GROUPS.queue, 'core/r/a-tie', entry('claude', 0, at(4)));
    await store.set(GROUPS.queue, 'core/r/negative', entry('shell', -2.5, at(0)));
    // Malformed entries sort as priority 0 and queued_at '' rather than failing the read.
    await store.set(GROUPS.queue, 'core/r/malformed', { priority: 'high', queued_at: 7 });
    await store.set(GROUPS.registry, 'core/r/not-queue', entry('codex', 9, at(0)));
    const order = [
      'core/r/old-high',
      'core/r/new-high',
      'core/r/malformed',
      'core/r/old-low',
      'core/r/a-tie',
      'core/r/b-tie',
      'core/r/negative',
    ];
    const all = await store.queuePage({ limit: 100 });
    expect(all.map((r) => r.name)).toEqual(order);
    expect(all[0]?.value).toEqual(entry('codex', 5, at(2)));
    expect(all[0]?.cursor).toEqual([-5, at(2), 'core/r/old-high']);
    // Page by page from each page's last cursor, as the claim does.
    const paged: string[] = [];
    let after = undefined as (typeof all)[number]['cursor'] | undefined;
    for (;;) {
      const rows = await store.queuePage({ limit: 3, after });
      paged.push(...rows.map((r) => r.name));
      if (rows.length < 3) break;
      after = rows.at(-1)?.cursor;
    }
    expect(paged).toEqual(order);
    // A pool is the agent up to its first colon.
    const open = await store.queuePage({ limit: 100, skipPools: ['claude', 'codex'] });
    expect(open.map((r) => r.name)).toEqual([
      'core/r/malformed',
      'core/r/b-tie',
      'core/r/negative',
    ]);
    const afterTie = await store.queuePage({
      limit: 1,
      after: all[4]?.cursor,
      skipPools: ['shell'],
    });
    expect(afterTie).toEqual([]);
  });

  it('merges the heads of several pools in byte order, as one index would', async () => {
    // Each pool is read on its own and the heads merged: where UTF-16 and UTF-8 order differ
    // (a surrogate pair against U+E000 and up) the merge must follow the database's order.
    await store.set(GROUPS.queue, 'core/r/emoji', {
      agent: 'a',
      priority: 0,
      queued_at: 'x\u{1F600}',
    });
    await store.set(GROUPS.queue, 'core/r/private', {
      agent: 'b',
      priority: 0,
      queued_at: 'x\uE000',
    });
    await store.set(GROUPS.queue, 'core/r/plain', { agent: 'c:m', priority: 0, queued_at: 'x~' });
    await store.set(GROUPS.queue, 'core/r/first', { agent: 'b', priority: 1, queued_at: 'z' });
    const order = ['core/r/first', 'core/r/plain', 'core/r/private', 'core/r/emoji'];
    expect((await store.queuePage({ limit: 10 })).map((r) => r.name)).toEqual(order);
    const [, second] = await store.queuePage({ limit: 2 });
    const rest = await store.queuePage({ limit: 10, after: second?.cursor });
    expect(rest.map((r) => r.name)).toEqual(order.slice(2));
  });

  it('overwrites a key on set', async () => {
    await store.set(GROUPS.runtime, 'backoff', { codex: 'a' });
    await store.set(GROUPS.runtime, 'backoff', { codex: 'b' });
    expect(await store.get(GROUPS.runtime, 'backoff')).toEqual({ codex: 'b' });
    expect(await store.count(GROUPS.runtime)).toBe(1);
  });

  it('treats delete of an unknown key as a no-op', async () => {
    await store.delete(GROUPS.registry, 'core/nope/task-1');
    expect(await store.get(GROUPS.registry, 'core/nope/task-1')).toBeUndefined();
    expect(await store.count(GROUPS.registry)).toBe(0);
  });

  it('commits a transaction as a whole', async () => {
    await store.transaction(async (tx) => {
      await tx.set(GROUPS.registry, 'k1', 1);
      await tx.set(GROUPS.queue, 'k1', 2);
      expect(await tx.get(GROUPS.registry, 'k1')).toBe(1);
    });
    expect(await store.get(GROUPS.queue, 'k1')).toBe(2);
  });

  it('rolls a failed transaction back entirely', async () => {
    await store.set(GROUPS.registry, 'k1', 'before');
    await expect(
      store.transaction(async (tx) => {
        await tx.set(GROUPS.registry, 'k1', 'after');
        await tx.set(GROUPS.queue, 'k2', 'new');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.get(GROUPS.registry, 'k1')).toBe('before');
    expect(await store.get(GROUPS.queue, 'k2')).toBeUndefined();
  });

  it('serialises concurrent read-modify-write transactions', async () => {
    await store.set(GROUPS.runtime, 'counter', 0);
    await Promise.all(
      Array.from({ length: 25 }, () =>
        store.transaction(async (tx) => {
          const n = (await tx.get(GROUPS.runtime, 'counter')) as number;
          await new Promise((r) => setTimeout(r, 1));
          await tx.set(GROUPS.runtime, 'counter', n + 1);
        }),
      ),
    );
    expect(await store.get(GROUPS.runtime, 'counter')).toBe(25);
  });

  it('writes and filters stats rows, newest first', async () => {
    const row = {
      workspace: 'core/a/task-1',
      repo: 'a',
      org: 'core',
      agent: 'codex:gpt-5',
      model: 'gpt-5',
      outcome: 'completed',
      runs: 1,
      duration_ms: 1500,
      started_at: '2026-01-01T00:00:00.000Z',
      ended_at: '2026-01-01T00:00:01.500Z',
      committed_at: '2026-01-01T00:00:02.000Z',
      fingerprint: '2026-01-01T00:00:01.500Z#1',
    };
    await store.addStats(row);
    await store.addStats({ ...row, workspace: 'core/b/task-2', repo: 'b', outcome: 'failed' });
    await store.addStats({ ...row, outcome: 'again' });
    expect((await store.queryStats({})).map((r) => r.workspace)).toEqual([
      'core/b/task-2',
      'core/a/task-1',
    ]);
    expect(await store.queryStats({ outcome: 'completed' })).toEqual([row]);
    expect((await store.queryStats({ repo: 'core/b' })).map((r) => r.workspace)).toEqual([
      'core/b/task-2',
    ]);
    expect(await store.queryStats({ limit: 1 })).toHaveLength(1);
  });

  it('is safe to close twice', async () => {
    await store.close();
    await store.close();
  });
});
