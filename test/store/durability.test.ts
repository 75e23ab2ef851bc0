import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GROUPS, type StateStore } from '../../src/store/index.js';
import { openSqliteStore } from '../../src/store/sqlite/engine.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as Parameters<
  typeof openSqliteStore
>[0];
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SQLite group commit', () => {
  let dir: string;
  let store: StateStore;
  let syncs: Array<() => void>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-durability-'));
    syncs = [];
    store = openSqliteStore(
      Database,
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

  it('fsyncs in place, as synchronous=FULL, until the process asks for group commit', async () => {
    const inPlace = openSqliteStore(Database, join(dir, 'other.sqlite'), () => {
      throw new Error('no background fsync before groupCommit()');
    });
    await inPlace.set(GROUPS.registry, 'a', 1);
    expect(await inPlace.get(GROUPS.registry, 'a')).toBe(1);
    await inPlace.close();
  });
});
