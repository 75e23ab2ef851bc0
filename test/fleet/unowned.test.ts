import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { freshPostgresDatabase } from '../helpers/engines.js';
import { waitUntil } from '../helpers/dispatch.js';
import {
  bareRepo,
  countingTask,
  doneOn,
  enqueueOn,
  makeNode,
  outbox,
  recordOf,
  type Outbox,
  type TestNode,
  tearDownFleet,
} from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

const YAML = 'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 1\n  lease_seconds: 60\n';

describe.skipIf(!inject('postgresUrl'))(
  `a running record that names no node (${ISOLATION_LABEL})`,
  () => {
    let dir: string;
    let storeUrl: string;
    let out: Outbox;
    let nodes: TestNode[] = [];
    const pids: number[] = [];

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'agentic-fleet-'));
      storeUrl = await freshPostgresDatabase();
      out = outbox();
    });
    afterEach(async () => {
      writeFileSync(join(out.dir, 'gate'), '');
      await tearDownFleet({ nodes, pids, out, dir });
      nodes = [];
      pids.length = 0;
    });

    /** Removes `node` from a registry record, as a record written before fleets has none. */
    async function dropNode(name: string): Promise<void> {
      const client = new pg.Client({ connectionString: storeUrl });
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
      nodes = ['a', 'b'].map((id) => makeNode(id, storeUrl, YAML));
      const [a, b] = nodes as [TestNode, TestNode];
      await a.start();
      const gate = join(out.dir, 'gate');
      const name = await enqueueOn(a, {
        repo: bareRepo(dir),
        agent: 'shell',
        task: countingTask(out, { gate }),
        issue: 1,
      });
      const running = await waitUntil('the agent to run on a', async () => {
        const r = await recordOf(storeUrl, name);
        return r?.status === 'running' && r.node === 'a' && r.pid !== undefined ? r : undefined;
      });
      pids.push(running.pid!);
      // The runner dies, its agent runs on; the record loses its owner (as a pre-fleet one has none).
      await a.daemon!.stop('SIGKILL');
      await dropNode(name);
      // b's start-up pass is over once it is up: its disk has no launch of this run.
      await b.start();
      const seenByB = await recordOf(storeUrl, name);
      expect(seenByB).toMatchObject({ status: 'running', pid: running.pid });
      expect(seenByB?.node).toBeUndefined();
      const back = await a.start();
      await waitUntil('a to adopt and re-attach the agent', () =>
        back.stderr().includes('"reattached":1'),
      );
      expect(back.stderr()).toContain('adopted running records that named no node');
      const adopted = await recordOf(storeUrl, name);
      expect(adopted).toMatchObject({ status: 'running', node: 'a', pid: running.pid });
      expect(adopted?.epoch).toBeGreaterThan(running.epoch ?? 0);
      writeFileSync(gate, '');
      await doneOn(storeUrl, 'a', name, 1);
      // Ran once: re-attached, not started again.
      expect(out.lines('starts')).toEqual([name.replaceAll('/', '_')]);
      expect(out.lines('ends')).toEqual([name.replaceAll('/', '_')]);
    }, 120_000);
  },
);
