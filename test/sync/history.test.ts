import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSyncService } from '../../src/sync/index.js';
import { ManualClock, testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';

describe.each(engines())('sync history on $name', (engine) => {
  let root: TempRoot;
  beforeEach(async () => {
    root = await tempRootOn(engine);
  });
  afterEach(() => root.cleanup());

  it('keeps the last 100 records, oldest first, in the store and in history.json', async () => {
    const clock = new ManualClock(new Date('2026-06-01T00:00:00.000Z'));
    const ctx = testContext(root, { clock });
    const sync = await createSyncService(ctx);
    for (let i = 0; i < 130; i++) {
      await sync.deps.state.run((tx) =>
        tx.appendHistory({
          agent_id: 'a',
          direction: 'pull',
          payload_size: i,
          items_count: 0,
          synced_at: clock.now().toISOString(),
        }),
      );
      clock.advance(1_000);
    }
    const records = await sync.deps.state.run((tx) => tx.history());
    expect(records).toHaveLength(100);
    expect(records[0]?.payload_size).toBe(30);
    expect(records.at(-1)?.payload_size).toBe(129);
    const file = JSON.parse(readFileSync(join(root.coreRoot, 'sync', 'history.json'), 'utf8'));
    expect(file).toEqual(records);
    await ctx.close();
  });
});
