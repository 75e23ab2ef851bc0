import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { freshPostgresDatabase } from '../helpers/engines.js';
import { waitUntil } from '../helpers/dispatch.js';
import {
  bareRepo,
  countingTask,
  makeNode,
  outbox,
  registry,
  sampleRunning,
  type Outbox,
  type TestNode,
  isDone,
  tearDownFleet,
} from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

/** As many tasks as the fleet acceptance run: three nodes share them at shell: 2. */
const TASKS = 60;

describe.skipIf(!inject('postgresUrl'))(
  `three nodes on one PostgreSQL (${ISOLATION_LABEL})`,
  () => {
    let dir: string;
    let storeUrl: string;
    let out: Outbox;
    let nodes: TestNode[] = [];

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'agentic-fleet-'));
      storeUrl = await freshPostgresDatabase();
      out = outbox();
    });
    afterEach(async () => {
      await tearDownFleet({ nodes, out, dir });
      nodes = [];
    });

    it('runs 60 URL-repo tasks each exactly once, never more than shell: 2 at a time fleet-wide', async () => {
      const repo = bareRepo(dir);
      const yaml =
        'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 1\n  lease_seconds: 15\n';
      nodes = ['a', 'b', 'c'].map((id) => makeNode(id, storeUrl, yaml));
      await Promise.all(nodes.map((n) => n.start()));
      const sampler = sampleRunning(storeUrl, out);
      const ctx = nodes[0]!.context();
      const names: string[] = [];
      try {
        for (let i = 1; i <= TASKS; i++) {
          const task = countingTask(out, { seconds: 0.1 });
          names.push(
            (await enqueueDispatch(ctx, { repo, agent: 'shell', task, issue: i })).workspace,
          );
        }
      } finally {
        await ctx.close();
      }
      const done = await waitUntil(
        `all ${TASKS} tasks to complete`,
        async () => {
          const reg = await registry(storeUrl);
          return names.every((n) => isDone(reg.get(n))) ? reg : undefined;
        },
        180_000,
      );
      const peak = await sampler.stop();
      expect(peak.samples).toBeGreaterThan(10);
      expect(peak.registry).toBeLessThanOrEqual(2);
      expect(peak.agents).toBeLessThanOrEqual(2);
      const flat = names.map((n) => n.replaceAll('/', '_')).sort();
      expect(out.lines('starts').sort()).toEqual(flat);
      expect(out.lines('ends').sort()).toEqual(flat);
      const ran = new Set(names.map((n) => done.get(n)?.node));
      expect([...ran].every((id) => id === 'a' || id === 'b' || id === 'c')).toBe(true);
    }, 240_000);
  },
);
