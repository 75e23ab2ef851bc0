import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { Runner } from '../../src/dispatch/runner.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { readRecord } from '../../src/lifecycle/index.js';
import type { AppContext } from '../../src/context.js';
import { freshPostgresDatabase } from '../helpers/engines.js';
import { waitUntil } from '../helpers/dispatch.js';
import { bareRepo, makeNode, type TestNode } from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

describe.skipIf(!inject('postgresUrl'))(`fleet wake-ups (${ISOLATION_LABEL})`, () => {
  let dir: string;
  let nodes: TestNode[] = [];
  const contexts: AppContext[] = [];
  let runner: Runner | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-fleet-'));
  });
  afterEach(async () => {
    await runner?.close();
    runner = undefined;
    for (const c of contexts) await c.close();
    contexts.length = 0;
    for (const n of nodes) n.root.cleanup();
    nodes = [];
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts work enqueued on another node without waiting for the poll', async () => {
    const storeUrl = await freshPostgresDatabase();
    const repo = bareRepo(dir);
    nodes = ['b', 'client'].map((id) => makeNode(id, storeUrl, 'concurrency:\n  shell: 4\n'));
    const [b, client] = nodes.map((n) => n.context()) as [AppContext, AppContext];
    contexts.push(b, client);
    // A ten-minute poll: only a wake-up can start the work within the deadline below.
    runner = await Runner.start(b, { pollMs: 600_000 });
    const latencies: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const sent = Date.now();
      const { workspace } = await enqueueDispatch(client, {
        repo,
        agent: 'shell',
        task: 'true',
        issue: i,
      });
      await waitUntil(
        `task ${i} to start on node b`,
        async () => (await readRecord(client, workspace))?.node === 'b',
        30_000,
      );
      latencies.push(Date.now() - sent);
    }
    expect(latencies.every((ms) => ms < 30_000)).toBe(true);
    console.log(`enqueue on one node → claim on another: ${latencies.join(', ')} ms`);
  }, 120_000);
});
