import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { waitingFor } from '../../src/dispatch/status-report.js';
import { AgenticError } from '../../src/lib/errors.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { makeSourceRepo } from '../helpers/dispatch.js';
import { sampleRecord } from '../helpers/records.js';

describe('--node on the embedded SQLite store (one node)', () => {
  let root: TempRoot;
  let repo: string;
  let ctx: AppContext;
  beforeEach(() => {
    root = tempRoot();
    repo = makeSourceRepo(root);
    ctx = testContext(root, { env: { CORE_AGENT_FLEET_NODE_ID: 'laptop' } });
  });
  afterEach(async () => {
    await ctx.close();
    root.cleanup();
  });

  it('records no pin for a local path, nor for this node named explicitly', async () => {
    const local = await enqueueDispatch(ctx, { repo, task: 'x', issue: 1 });
    expect(local.record.node_affinity).toBeUndefined();
    const named = await enqueueDispatch(ctx, { repo, task: 'x', issue: 2, node: 'laptop' });
    expect(named.record.node_affinity).toBeUndefined();
  });

  it('refuses another node, and a value that is no node id, naming the field', async () => {
    for (const [node, message] of [
      ['desktop', /is not this node \(laptop\): the embedded store has one node/],
      ['two words', /^node: must be a fleet node id/],
      ['-x', /^node: must be a fleet node id/],
      ['', /^node: must be a fleet node id/],
    ] as const) {
      const err = await enqueueDispatch(ctx, { repo, task: 'x', node }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, node).toBeInstanceOf(AgenticError);
      expect((err as AgenticError).code).toBe('INPUT_INVALID');
      expect((err as AgenticError).field).toBe('node');
      expect((err as AgenticError).message).toMatch(message);
    }
  });
});

describe('why queued pinned work waits', () => {
  const pinned = sampleRecord({ status: 'queued', node_affinity: 'b' });
  it('names a pinned node that is not live, and nothing otherwise', () => {
    expect(waitingFor(pinned, new Map([['b', 'live']]))).toBeNull();
    expect(waitingFor(pinned, new Map([['b', 'expired']]))).toBe(
      'waiting for node b (not live: lease expired)',
    );
    expect(waitingFor(pinned, new Map([['b', 'lost']]))).toBe(
      'waiting for node b (not live: lost)',
    );
    expect(waitingFor(pinned, new Map())).toBe('waiting for node b (not live: unknown node)');
    // Outside a fleet, unpinned, or no longer queued: nothing to explain.
    expect(waitingFor(pinned, undefined)).toBeNull();
    expect(waitingFor(sampleRecord({ status: 'queued' }), new Map())).toBeNull();
    expect(waitingFor({ ...pinned, status: 'running' }, new Map())).toBeNull();
  });
});
