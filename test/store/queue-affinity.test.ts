import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { queuePage as filesQueuePage } from '../../src/store/files/derived.js';
import { GROUPS, openStateStore, type StateStore } from '../../src/store/index.js';
import type { QueuePageRequest, QueueRow } from '../../src/store/types.js';
import { queueEntryOf, type StatusRecord } from '../../src/workspace/index.js';
import { engines } from '../helpers/engines.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

/**
 * A queue whose head is 80 entries pinned to node b (more than the claim's 64-entry page), then
 * one entry pinned to a, one unpinned, in two pools.
 */
function pinnedQueue(): Map<string, StatusRecord> {
  const records = new Map<string, StatusRecord>();
  for (let i = 0; i < 80; i++)
    records.set(
      `core/r/b-${String(i).padStart(2, '0')}`,
      sampleRecord({ agent: i % 2 ? 'shell' : 'codex', priority: 5, node_affinity: 'b' }),
    );
  records.set('core/r/for-a', sampleRecord({ agent: 'shell', priority: 1, node_affinity: 'a' }));
  records.set('core/r/anywhere', sampleRecord({ agent: 'codex', priority: 0 }));
  return records;
}

const names = (rows: QueueRow[]): string[] => rows.map((r) => r.name);

/** Every checked page, from one queue-page function. */
async function expectFilter(page: (req: QueuePageRequest) => Promise<QueueRow[]>): Promise<void> {
  // Node a's page is not hidden behind the 80 pinned to b, whatever the page size.
  expect(names(await page({ limit: 64, node: 'a' }))).toEqual(['core/r/for-a', 'core/r/anywhere']);
  expect(names(await page({ limit: 1, node: 'a' }))).toEqual(['core/r/for-a']);
  const first = await page({ limit: 1, node: 'a' });
  expect(names(await page({ limit: 64, node: 'a', after: first[0]?.cursor }))).toEqual([
    'core/r/anywhere',
  ]);
  expect(names(await page({ limit: 64, node: 'a', skipPools: ['shell'] }))).toEqual([
    'core/r/anywhere',
  ]);
  // Node b sees its own and the unpinned; a node that has none pinned sees only the unpinned.
  expect(await page({ limit: 200, node: 'b' })).toHaveLength(81);
  expect(names(await page({ limit: 64, node: 'c' }))).toEqual(['core/r/anywhere']);
  // Without a node nothing is left out (the embedded store's single node claims everything).
  expect(await page({ limit: 200 })).toHaveLength(82);
}

describe.each(engines())('queue pages leave out work pinned to another node on $name', (engine) => {
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
    await store.transaction(async (tx) => {
      for (const [name, record] of pinnedQueue())
        await tx.set(GROUPS.queue, name, queueEntryOf(record));
    });
  });
  afterEach(async () => {
    await store.close();
    root.cleanup();
  });

  it('outside a transaction', async () => {
    await expectFilter((req) => store.queuePage(req));
  });

  it('inside a transaction, as the claim reads them', async () => {
    await store.transaction(async (tx) => expectFilter((req) => tx.queuePage(req)));
  });
});

describe('queue pages of the file engine leave out work pinned to another node', () => {
  it('as the SQL engines do', async () => {
    const records = pinnedQueue();
    await expectFilter(async (req) => filesQueuePage(records, req));
  });
});
