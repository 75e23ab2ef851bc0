import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { openFileStore } from '../../src/store/files/engine.js';
import {
  GROUPS,
  openStateStore,
  type QueueCursor,
  type StateStore,
} from '../../src/store/index.js';
import { queueEntryOf, type StatusRecord } from '../../src/workspace/index.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

/** ~200 records with many ties on priority and queued_at, some without queued_at. */
function generate(): Map<string, StatusRecord> {
  let seed = 7;
  const pick = <T>(xs: readonly T[]): T => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return xs[Math.floor(seed / 65536) % xs.length] as T;
  };
  const records = new Map<string, StatusRecord>();
  const leaves = ['B', 'a', 'b', 'task-1', 'task-10', 'task-2', 'Zed', 'z'];
  for (let i = 0; i < 200; i++) {
    const name = `core/${pick(['r', 'R', 's'])}-${i % 25}/${pick(leaves)}`;
    const queuedAt = pick([undefined, '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z']);
    records.set(
      name,
      sampleRecord({
        status: pick(['queued', 'queued', 'queued', 'running', 'failed'] as const),
        agent: pick(['codex', 'codex:o3', 'shell', 'claude:opus']),
        priority: pick([0, 0, 1, 2, -1]),
        updated_at: pick(['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:03.000Z']),
        ...(queuedAt === undefined ? {} : { queued_at: queuedAt }),
      }),
    );
  }
  return records;
}

describe('queuePage of the file store', () => {
  let sqliteRoot: TempRoot;
  let filesRoot: TempRoot;
  let sqlite: StateStore;
  let files: StateStore;
  beforeEach(async () => {
    sqliteRoot = tempRoot();
    filesRoot = tempRoot();
    ({ store: sqlite } = await openStateStore({
      coreRoot: sqliteRoot.coreRoot,
      workspaceRoot: join(sqliteRoot.coreRoot, 'workspace'),
      logger: silentLogger(),
    }));
    files = openFileStore({
      coreRoot: filesRoot.coreRoot,
      workspaceRoot: join(filesRoot.coreRoot, 'workspace'),
      logger: silentLogger(),
      location: 'x',
      reason: 'test',
    });
    const records = generate();
    await sqlite.transaction(async (tx) => {
      for (const [name, record] of records) {
        await tx.set(GROUPS.registry, name, record);
        if (record.status === 'queued') await tx.set(GROUPS.queue, name, queueEntryOf(record));
      }
    });
    await files.transaction(async (tx) => {
      for (const [name, record] of records) await tx.set(GROUPS.registry, name, record);
    });
  });
  afterEach(async () => {
    await sqlite.close();
    await files.close();
    sqliteRoot.cleanup();
    filesRoot.cleanup();
  });

  /** Walks the whole queue page by page, as the claim does. */
  async function walk(store: StateStore, limit: number, skipPools?: string[]) {
    const rows = [];
    let after: QueueCursor | undefined;
    for (;;) {
      const page = await store.queuePage({ limit, after, skipPools });
      rows.push(...page);
      if (page.length < limit) return rows;
      after = page.at(-1)?.cursor;
    }
  }

  it('returns the same rows in the same order as SQLite, page by page and with pools left out', async () => {
    const all = await sqlite.queuePage({ limit: 1000 });
    expect(all.length).toBeGreaterThan(50);
    expect(await files.queuePage({ limit: 1000 })).toEqual(all);
    expect(await walk(files, 7)).toEqual(all);
    for (const skip of [['shell'], ['codex', 'claude']]) {
      expect(await walk(files, 5, skip)).toEqual(await walk(sqlite, 5, skip));
    }
    const middle = all[Math.floor(all.length / 2)]?.cursor;
    expect(await files.queuePage({ limit: 10, after: middle, skipPools: ['shell'] })).toEqual(
      await sqlite.queuePage({ limit: 10, after: middle, skipPools: ['shell'] }),
    );
    expect(await files.count(GROUPS.queue)).toBe(await sqlite.count(GROUPS.queue));
  });
});
