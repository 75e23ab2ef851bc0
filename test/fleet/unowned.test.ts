import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { waitUntil } from '../helpers/dispatch.js';
import {
  countingTask,
  doneOn,
  enqueueOn,
  makeNode,
  recordOf,
  type TestNode,
  useFleet,
} from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

const YAML = 'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 1\n  lease_seconds: 60\n';

describe.skipIf(!inject('postgresUrl'))(
  `a running record that names no node (${ISOLATION_LABEL})`,
  () => {
    const fleet = useFleet();

    /** Removes `node` from a registry record, as a record written before fleets has none. */
    async function dropNode(name: string): Promise<void> {
      const client = new pg.Client({ connectionString: fleet.storeUrl });
      await client.connect();
      try {
        await client.query(
          "UPDATE kv SET value = value - 'node' WHERE grp = 'registry' AND key = $1",
          [name],
        );
      } finally {
        await client.end();
      }
    }

    it('is adopted by the node that launched its run, never by another, and its agent is not started again', async () => {
      fleet.nodes = ['a', 'b'].map((id) => makeNode(id, fleet.storeUrl, YAML));
      const [a, b] = fleet.nodes as [TestNode, TestNode];
      await a.start();
      const name = await enqueueOn(a, {
        repo: fleet.repo,
        agent: 'shell',
        task: countingTask(fleet.out, { gate: fleet.gate }),
        issue: 1,
      });
      const running = await waitUntil('the agent to run on a', async () => {
        const r = await recordOf(fleet.storeUrl, name);
        return r?.status === 'running' && r.node === 'a' && r.pid !== undefined ? r : undefined;
      });
      fleet.pids.push(running.pid!);
      // The runner dies, its agent runs on; the record loses its owner (as a pre-fleet one has none).
      await a.daemon!.stop('SIGKILL');
      await dropNode(name);
      // b's start-up pass is over once it is up: its disk has no launch of this run.
      await b.start();
      const seenByB = await recordOf(fleet.storeUrl, name);
      expect(seenByB).toMatchObject({ status: 'running', pid: running.pid });
      expect(seenByB?.node).toBeUndefined();
      const back = await a.start();
      await waitUntil('a to adopt and re-attach the agent', () =>
        back.stderr().includes('"reattached":1'),
      );
      expect(back.stderr()).toContain('adopted running records that named no node');
      const adopted = await recordOf(fleet.storeUrl, name);
      expect(adopted).toMatchObject({ status: 'running', node: 'a', pid: running.pid });
      expect(adopted?.epoch).toBeGreaterThan(running.epoch ?? 0);
      writeFileSync(fleet.gate, '');
      await doneOn(fleet.storeUrl, 'a', name, 1);
      // Ran once: re-attached, not started again.
      expect(fleet.out.lines('starts')).toEqual([name.replaceAll('/', '_')]);
      expect(fleet.out.lines('ends')).toEqual([name.replaceAll('/', '_')]);
    }, 120_000);
  },
);
