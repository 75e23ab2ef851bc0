import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { DEFAULT_MAX_RECORDS } from '../../src/hub/index.js';
import { syncBodySchema } from '../../src/protocol/sync-wire.js';
import { createSyncService } from '../../src/sync/index.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { FakeHub } from '../helpers/fake-hub.js';
import { hubEnv, seedHistory } from '../helpers/sync.js';

describe('the sync wire shared by node and hub', () => {
  let root: TempRoot;
  let hub: FakeHub;
  let ctx: AppContext;

  beforeEach(async () => {
    root = tempRoot();
    hub = await FakeHub.start();
    ctx = testContext(root, {
      env: hubEnv(hub.url),
      clock: new ManualClock(new Date('2026-02-01T12:00:00.000Z')),
    });
  });
  afterEach(async () => {
    await ctx.close();
    await hub.stop();
    root.cleanup();
  });

  it('a push body the node collected from dispatch_history and explicit dispatches parses with the hub schema', async () => {
    const names = await seedHistory(ctx, 2);
    const explicit = {
      workspace: 'core/go-io/task-9',
      status: 'completed',
      updated_at: '2026-01-05T00:00:00.000Z',
      runs: 2,
      issue: 7,
      extra_field: { kept: true },
    };
    const report = await (await createSyncService(ctx)).push({ dispatches: [explicit] });
    expect(report).toMatchObject({ success: true, count: 3 });

    expect(hub.pushes).toHaveLength(1);
    const parsed = syncBodySchema(DEFAULT_MAX_RECORDS).safeParse(hub.pushes[0]?.body);
    expect(parsed.error).toBeUndefined();
    expect(parsed.data?.agent_id).toBe('node-a');
    expect(parsed.data?.dispatches.map((d) => d.id)).toEqual([...names, explicit.workspace]);
    // Fields the hub does not read travel as the node sent them.
    expect(parsed.data?.dispatches[2]).toMatchObject({
      fingerprint: '2026-01-05T00:00:00.000Z#2',
      extra_field: { kept: true },
    });
  });
});
