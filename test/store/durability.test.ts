import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GROUPS, type StateStore } from '../../src/store/index.js';
import { sqliteStoreSyncedBy } from '../helpers/sqlite.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SQLite group commit', () => {
  let dir: string;
  let store: StateStore;
  let syncs: Array<() => void>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-durability-'));
    syncs = [];
    store = sqliteStoreSyncedBy(
      join(dir, 'db.sqlite'),
      () => new Promise<void>((resolve) => syncs.push(resolve)),
    );
    store.groupCommit?.();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves a write only after the WAL is synced, and a read-only transaction needs no sync', async () => {
    let done = false;
    const write = store.set(GROUPS.registry, 'a', 1).then(() => (done = true));
    await tick();
    expect(syncs).toHaveLength(1);
    expect(done).toBe(false);
    syncs[0]?.();
    await write;
    expect(await store.transaction((tx) => tx.get(GROUPS.registry, 'a'))).toBe(1);
    expect(syncs).toHaveLength(1);
  });

  it('lets the next transaction run while a sync is pending, and shares one sync among the waiters', async () => {
    const first = store.transaction((tx) => tx.set(GROUPS.registry, 'a', 1));
    await tick();
    expect(syncs).toHaveLength(1);
    const later = [
      store.transaction((tx) => tx.set(GROUPS.registry, 'b', 2)),
      store.transaction((tx) => tx.set(GROUPS.registry, 'c', 3)),
    ];
    await tick();
    await tick();
    // Both committed (visible) while the first sync is still running; neither is resolved.
    expect(await store.count(GROUPS.registry)).toBe(3);
    expect(syncs).toHaveLength(1);
    syncs[0]?.();
    await first;
    await tick();
    expect(syncs).toHaveLength(2);
    syncs[1]?.();
    await Promise.all(later);
    expect(syncs).toHaveLength(2);
  });

  it('commits early: visible at COMMIT, each `then` run once synced and in commit order', async () => {
    const thens: string[] = [];
    const commit = (key: string): ReturnType<NonNullable<StateStore['commitEarly']>> =>
      store.commitEarly!(
        (tx) => tx.set(GROUPS.registry, key, key),
        async () => void thens.push(key),
      );
    const a = await commit('a');
    expect(await store.get(GROUPS.registry, 'a')).toBe('a');
    const [b, c] = await Promise.all([commit('b'), commit('c')]);
    expect(await store.count(GROUPS.registry)).toBe(3);
    expect(thens).toEqual([]);
    expect(syncs).toHaveLength(1);
    let laterDurable = false;
    void Promise.all([b.durable, c.durable]).then(() => (laterDurable = true));
    syncs[0]?.();
    await a.durable;
    expect(thens).toEqual(['a']);
    await tick();
    // b and c committed while the first sync ran: they wait for the next one.
    expect(laterDurable).toBe(false);
    expect(syncs).toHaveLength(2);
    syncs[1]?.();
    await Promise.all([b.durable, c.durable]);
    expect(thens).toEqual(['a', 'b', 'c']);
  });

  it('rejects an early commit’s durable when its sync fails, and never runs its `then`', async () => {
    const failing = sqliteStoreSyncedBy(join(dir, 'failing.sqlite'), () =>
      Promise.reject(new Error('disk gone')),
    );
    failing.groupCommit?.();
    let ran = false;
    const early = await failing.commitEarly!(
      (tx) => tx.set(GROUPS.registry, 'a', 1),
      async () => void (ran = true),
    );
    // Nobody awaits `durable` for a while: that is no unhandled rejection.
    await new Promise((r) => setTimeout(r, 20));
    await expect(early.durable).rejects.toThrow('disk gone');
    expect(ran).toBe(false);
    await expect(failing.set(GROUPS.registry, 'b', 2)).rejects.toThrow('disk gone');
    await failing.close();
  });

  it('fsyncs in place, as synchronous=FULL, until the process asks for group commit', async () => {
    const inPlace = sqliteStoreSyncedBy(join(dir, 'other.sqlite'), () => {
      throw new Error('no background fsync before groupCommit()');
    });
    await inPlace.set(GROUPS.registry, 'a', 1);
    expect(await inPlace.get(GROUPS.registry, 'a')).toBe(1);
    await inPlace.close();
  });
});
