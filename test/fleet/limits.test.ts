import { describe, expect, inject, it } from 'vitest';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { waitUntil } from '../helpers/dispatch.js';
import { countingTask, makeNode, registry, sampleRunning, isDone, useFleet } from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

/** As many tasks as the fleet acceptance run: three fleet.nodes share them at shell: 2. */
const TASKS = 60;

describe.skipIf(!inject('postgresUrl'))(
  `three fleet.nodes on one PostgreSQL (${ISOLATION_LABEL})`,
  () => {
    const fleet = useFleet();

    it('runs 60 URL-repo tasks each exactly once, never more than shell: 2 at a time fleet-wide', async () => {
      const yaml =
        'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 1\n  lease_seconds: 15\n';
      fleet.nodes = ['a', 'b', 'c'].map((id) => makeNode(id, fleet.storeUrl, yaml));
      await Promise.all(fleet.nodes.map((n) => n.start()));
      const sampler = sampleRunning(fleet.storeUrl, fleet.out);
      const ctx = fleet.nodes[0]!.context();
      const names: string[] = [];
      try {
        for (let i = 1; i <= TASKS; i++) {
          const task = countingTask(fleet.out, { seconds: 0.1 });
          names.push(
            (await enqueueDispatch(ctx, { repo: fleet.repo, agent: 'shell', task, issue: i }))
              .workspace,
          );
        }
      } finally {
        await ctx.close();
      }
      const done = await waitUntil(
        `all ${TASKS} tasks to complete`,
        async () => {
          const reg = await registry(fleet.storeUrl);
          return names.every((n) => isDone(reg.get(n))) ? reg : undefined;
        },
        180_000,
      );
      const peak = await sampler.stop();
      expect(peak.samples).toBeGreaterThan(10);
      expect(peak.registry).toBeLessThanOrEqual(2);
      expect(peak.agents).toBeLessThanOrEqual(2);
      const flat = names.map((n) => n.replaceAll('/', '_')).sort();
      expect(fleet.out.lines('starts').sort()).toEqual(flat);
      expect(fleet.out.lines('ends').sort()).toEqual(flat);
      const ran = new Set(names.map((n) => done.get(n)?.node));
      expect([...ran].every((id) => id === 'a' || id === 'b' || id === 'c')).toBe(true);
    }, 240_000);
  },
);
