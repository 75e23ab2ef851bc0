import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { StatusRow } from '../../src/dispatch/status-report.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import type { DispatchInput } from '../../src/dispatch/dispatch-input.js';
import { json } from '../helpers/cli.js';
import { freshPostgresDatabase } from '../helpers/engines.js';
import { makeSourceRepo, waitUntil, writeAgentsYaml } from '../helpers/dispatch.js';
import { bareRepo, isDone, makeNode, registry, type TestNode, tearDownFleet } from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

const YAML = 'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 3\n';

describe.skipIf(!inject('postgresUrl'))(`where fleet work may run (${ISOLATION_LABEL})`, () => {
  let dir: string;
  let storeUrl: string;
  let url: string;
  /** A path on every node (as a shared mount would be). */
  let sharedPath: string;
  /** A repository on node a's disk only (hidden from b when nodes have namespaces). */
  let aPath: string;
  let a: TestNode;
  let b: TestNode;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-fleet-'));
    storeUrl = await freshPostgresDatabase();
    url = bareRepo(dir);
    sharedPath = join(dir, 'work');
    [a, b] = ['a', 'b'].map((id) => makeNode(id, storeUrl, YAML)) as [TestNode, TestNode];
    aPath = makeSourceRepo(a.root);
  });
  afterEach(async () => {
    await tearDownFleet({ nodes: [a, b], dir });
  });

  async function enqueueOn(node: TestNode, input: DispatchInput): Promise<string> {
    const ctx = node.context();
    try {
      return (await enqueueDispatch(ctx, input)).workspace;
    } finally {
      await ctx.close();
    }
  }

  /** Queues an unpinned task behind the pinned ones and waits until `node` completed it: proof that `node` claimed past them. */
  async function claimedPast(node: TestNode, issue: number): Promise<void> {
    const name = await enqueueOn(node, { repo: url, agent: 'shell', task: 'true', issue });
    await waitUntil(
      `node ${node.id} to complete the unpinned task`,
      async () => {
        const r = (await registry(storeUrl)).get(name);
        return isDone(r) && r?.node === node.id;
      },
      60_000,
    );
  }

  async function statusRow(node: TestNode, name: string): Promise<StatusRow> {
    const out = json<{ workspaces: StatusRow[] }>(
      await node.cli(['status', '--workspace', name, '--json']),
    );
    return out.workspaces[0]!;
  }

  it('a local-path task runs on its enqueuing node only; an idle free node passes over it', async () => {
    await b.start();
    const pinned = await enqueueOn(a, { repo: aPath, agent: 'shell', task: 'true', issue: 1 });
    // Older than the next task and in the same pool: an unfiltered claim on b would take it first.
    await claimedPast(b, 2);
    expect((await registry(storeUrl)).get(pinned)).toMatchObject({
      status: 'queued',
      node_affinity: 'a',
    });
    await a.start();
    await waitUntil('the pinned task to complete on a', async () => {
      const r = (await registry(storeUrl)).get(pinned);
      return isDone(r) && r?.node === 'a';
    });
  }, 120_000);

  it('--node b pins a dispatch made on a to b', async () => {
    await a.start();
    const out = await a.cli([
      'dispatch',
      '--repo',
      sharedPath,
      '--agent',
      'shell',
      '--task',
      'true',
      '--issue',
      '1',
      '--node',
      'b',
    ]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^queued \S+ \(shell\) on node b$/m);
    const pinned = out.stdout.split(' ')[1]!;
    await claimedPast(a, 2);
    expect((await registry(storeUrl)).get(pinned)?.status).toBe('queued');
    await b.start();
    await waitUntil('the task to complete on b', async () => {
      const r = (await registry(storeUrl)).get(pinned);
      return isDone(r) && r?.node === 'b';
    });
  }, 120_000);

  it('refuses a --node that is not a node id', async () => {
    const out = await a.cli(['dispatch', '--repo', url, '--task', 'true', '--node', 'x y']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/node.*must be a fleet node id/);
  });

  it('work pinned to a dead or unknown node stays queued and status says why', async () => {
    await a.start();
    await a.daemon!.stop('SIGKILL');
    await b.start();
    const onDead = await enqueueOn(a, { repo: aPath, agent: 'shell', task: 'true', issue: 1 });
    const onGhost = await enqueueOn(b, {
      repo: url,
      agent: 'shell',
      task: 'true',
      issue: 2,
      node: 'ghost',
    });
    await claimedPast(b, 3);
    const reg = await registry(storeUrl);
    expect(reg.get(onDead)?.status).toBe('queued');
    expect(reg.get(onGhost)?.status).toBe('queued');
    const dead = await waitUntil('a to be judged not live', async () => {
      const row = await statusRow(b, onDead);
      return row.waiting?.startsWith('waiting for node a (not live') ? row : undefined;
    });
    expect(dead).toMatchObject({ status: 'queued', node_affinity: 'a' });
    expect(await statusRow(b, onGhost)).toMatchObject({
      status: 'queued',
      node_affinity: 'ghost',
      waiting: 'waiting for node ghost (not live: unknown node)',
    });
    const table = await b.cli(['status']);
    expect(table.stdout).toContain('waiting for node ghost (not live: unknown node)');
  }, 120_000);

  it('a resumed task runs on the node holding its clone and keeps its earlier commit', async () => {
    // a is down for less than its lease: not taken over, so the pin to its clone holds (once a
    // node is taken over, such a pin is dropped: lost-pins.test.ts).
    const lease = YAML.replace('lease_seconds: 3', 'lease_seconds: 60');
    for (const node of [a, b]) writeAgentsYaml(node.root, lease);
    // First run: commit one.txt. A run that finds one.txt already there commits two.txt.
    const task = [
      'if [ -f one.txt ]; then f=two.txt; else f=one.txt; fi',
      'echo x > $f && git add $f && git commit -qm $f',
    ].join('\n');
    await a.start();
    const name = await enqueueOn(a, { repo: url, agent: 'shell', task, issue: 1 });
    await waitUntil('the first run to complete on a', async () => {
      const r = (await registry(storeUrl)).get(name);
      return isDone(r) && r?.node === 'a';
    });
    await a.daemon!.stop('SIGTERM');
    await b.start();
    const resumed = await b.cli(['resume', name]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await registry(storeUrl)).get(name)).toMatchObject({
      status: 'queued',
      node_affinity: 'a',
    });
    await claimedPast(b, 2);
    expect((await registry(storeUrl)).get(name)?.status).toBe('queued');
    await a.start();
    const done = await waitUntil('the resumed run to complete on a', async () => {
      const r = (await registry(storeUrl)).get(name) as
        | (Parameters<typeof isDone>[0] & { runs?: number; changes?: { commits: number } })
        | undefined;
      return isDone(r) && r?.runs === 2 ? r : undefined;
    });
    expect(done.node).toBe('a');
    // Both commits: the resumed run continued the clone instead of a fresh one from the source.
    expect(done.changes?.commits).toBe(2);
  }, 150_000);
});
