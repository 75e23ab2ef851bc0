import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSyncService } from '../../src/sync/index.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';

const pull = {
  agent_id: 'a',
  direction: 'pull',
  payload_size: 10,
  items_count: 1,
  synced_at: '2026-01-01T00:00:00.000Z',
};

describe('sync files of an older version (records.json, status.json)', () => {
  let root: TempRoot;
  const syncFile = (name: string) => join(root.coreRoot, 'sync', name);
  const readJson = (name: string) => JSON.parse(readFileSync(syncFile(name), 'utf8')) as unknown;

  beforeEach(() => {
    root = tempRoot();
    // Degraded: the JSON files are the only copy of the sync state, so a lost file is lost data.
    mkdirSync(join(root.coreRoot, 'db.sqlite'));
    mkdirSync(join(root.coreRoot, 'sync'));
  });
  afterEach(() => root.cleanup());

  it('are renamed history.json and marks.json when the sync service starts, and read from there', async () => {
    writeFileSync(syncFile('records.json'), JSON.stringify([pull]));
    writeFileSync(syncFile('status.json'), JSON.stringify({ last_pull_at: pull.synced_at }));
    const ctx = testContext(root);
    const sync = await createSyncService(ctx);
    expect(sync.deps.state.degraded).toBe(true);

    expect(existsSync(syncFile('records.json'))).toBe(false);
    expect(existsSync(syncFile('status.json'))).toBe(false);
    expect(readJson('history.json')).toEqual([pull]);
    expect(readJson('marks.json')).toEqual({ last_pull_at: pull.synced_at });
    expect(await sync.deps.state.run((tx) => tx.history())).toEqual([pull]);
    expect((await sync.status()).last_pull_at).toBe(pull.synced_at);
    await ctx.close();
  });

  it('are left alone when the new files exist already', async () => {
    writeFileSync(syncFile('status.json'), JSON.stringify({ last_pull_at: 'old' }));
    writeFileSync(syncFile('marks.json'), JSON.stringify({ last_pull_at: pull.synced_at }));
    const ctx = testContext(root);
    const sync = await createSyncService(ctx);

    expect(readJson('status.json')).toEqual({ last_pull_at: 'old' });
    expect((await sync.status()).last_pull_at).toBe(pull.synced_at);
    await ctx.close();
  });
});
