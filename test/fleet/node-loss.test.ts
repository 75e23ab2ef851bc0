import { writeFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import type { FleetView } from '../../src/fleet/index.js';
import { json } from '../helpers/cli.js';
import { waitUntil } from '../helpers/dispatch.js';
import { countingTask, makeNode, registry, type TestNode, isDone, useFleet } from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

describe.skipIf(!inject('postgresUrl'))(`a node that dies (${ISOLATION_LABEL})`, () => {
  const fleet = useFleet();

  /** Starts node a alone, queues `count` gated tasks there and waits until its agents run them. */
  async function runOnA(yaml: string, count: number): Promise<string[]> {
    fleet.nodes = ['a', 'b', 'c'].map((id) => makeNode(id, fleet.storeUrl, yaml));
    await fleet.nodes[0]!.start();
    const ctx = fleet.nodes[0]!.context();
    const names: string[] = [];
    try {
      for (let i = 1; i <= count; i++) {
        const task = countingTask(fleet.out, { gate: fleet.gate });
        names.push(
          (await enqueueDispatch(ctx, { repo: fleet.repo, agent: 'shell', task, issue: i }))
            .workspace,
        );
      }
    } finally {
      await ctx.close();
    }
    const reg = await waitUntil('node a to run its agents', async () => {
      const r = await registry(fleet.storeUrl);
      const all = names.every(
        (n) => r.get(n)?.status === 'running' && r.get(n)?.node === 'a' && r.get(n)?.pid,
      );
      return all && fleet.out.lines('starts').length === count ? r : undefined;
    });
    for (const n of names) fleet.pids.push(reg.get(n)!.pid!);
    return names;
  }

  const fleetNodes = async (node: TestNode): Promise<FleetView> =>
    json<FleetView>(await node.cli(['fleet', 'nodes', '--json']));

  it('keeps its records untouched by other fleet.nodes while its lease is live; restarted, it re-attaches its agents', async () => {
    const yaml = 'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 1\n  lease_seconds: 60\n';
    const names = await runOnA(yaml, 2);
    const before = await registry(fleet.storeUrl);
    await fleet.nodes[0]!.daemon!.stop('SIGKILL');
    // B and C start (hydrate) and B restarts, all while A is down but its lease is live.
    await Promise.all([fleet.nodes[1]!.start(), fleet.nodes[2]!.start()]);
    await fleet.nodes[1]!.daemon!.stop('SIGTERM');
    await fleet.nodes[1]!.start();
    const view = await fleetView(fleet.nodes[1]!);
    expect(view.nodes.find((n) => n.node_id === 'a')).toMatchObject({ lease: 'live', running: 2 });
    const during = await registry(fleet.storeUrl);
    for (const n of names) expect(during.get(n)).toEqual(before.get(n));

    const a = await fleet.nodes[0]!.start();
    await waitUntil('node a to re-attach both agents', () => a.stderr().includes('"reattached":2'));
    writeFileSync(fleet.gate, '');
    await waitUntil(
      'both tasks to complete on node a',
      async () => {
        const r = await registry(fleet.storeUrl);
        return names.every((n) => isDone(r.get(n)) && r.get(n)?.node === 'a');
      },
      60_000,
    );
    const flat = names.map((n) => n.replaceAll('/', '_')).sort();
    expect(fleet.out.lines('starts').sort()).toEqual(flat);
    expect(fleet.out.lines('ends').sort()).toEqual(flat);
  }, 120_000);

  it('once its lease expires, its work is requeued and completed elsewhere exactly once; coming back it writes nothing over it', async () => {
    const yaml = 'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 3\n';
    const names = await runOnA(yaml, 2);
    await Promise.all([fleet.nodes[1]!.start(), fleet.nodes[2]!.start()]);
    // Killed for good: the daemon and its agents.
    await fleet.nodes[0]!.crash(fleet.pids);
    writeFileSync(fleet.gate, '');
    const done = await waitUntil(
      'the lost work to complete on b or c',
      async () => {
        const r = await registry(fleet.storeUrl);
        return names.every((n) => isDone(r.get(n))) ? r : undefined;
      },
      90_000,
    );
    for (const n of names) {
      expect(['b', 'c']).toContain(done.get(n)?.node);
      expect(done.get(n)?.epoch).toBe(1);
    }
    const flat = names.map((n) => n.replaceAll('/', '_')).sort();
    expect(fleet.out.lines('ends').sort()).toEqual(flat);
    expect(fleet.out.lines('starts').sort()).toEqual([...flat, ...flat].sort());
    const view = await fleetView(fleet.nodes[1]!);
    expect(view.nodes.map((n) => [n.node_id, n.lease])).toEqual([
      ['a', 'lost'],
      ['b', 'live'],
      ['c', 'live'],
    ]);

    // A comes back: it registers afresh and finds nothing of its own to judge.
    await fleet.nodes[0]!.start();
    await waitUntil('node a to heartbeat again', async () => {
      const v = await fleetView(fleet.nodes[1]!);
      return v.nodes.find(
        (n) => n.node_id === 'a' && n.lease === 'live' && n.pid === fleet.nodes[0]!.daemonPid(),
      );
    });
    const after = await registry(fleet.storeUrl);
    for (const n of names) expect(after.get(n)).toEqual(done.get(n));
    expect(fleet.out.lines('starts')).toHaveLength(4);
  }, 150_000);

  it('a paused node resumed after its takeover stops by itself and writes nothing over its successor', async () => {
    const yaml = 'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 3\n';
    const names = await runOnA(yaml, 1);
    await fleet.nodes[1]!.start();
    const a = fleet.nodes[0]!.daemon!;
    a.kill('SIGSTOP');
    const taken = await waitUntil('node b to run the lost work', async () => {
      const r = await registry(fleet.storeUrl);
      return names.every((n) => r.get(n)?.node === 'b' && r.get(n)?.pid) ? r : undefined;
    });
    a.kill('SIGCONT');
    expect(await a.stop('SIGCONT')).toBe(0);
    expect(a.stderr()).toContain('node lease lost; stopping');
    expect(await registry(fleet.storeUrl)).toEqual(taken);
    writeFileSync(fleet.gate, '');
    await waitUntil('the work to complete on node b', async () => {
      const r = await registry(fleet.storeUrl);
      return names.every((n) => isDone(r.get(n)) && r.get(n)?.node === 'b');
    });
  }, 120_000);

  it('fails its running work "node a lost" when requeue_on_node_loss is false', async () => {
    const yaml =
      'dispatch:\n  requeue_on_node_loss: false\nconcurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 3\n';
    const names = await runOnA(yaml, 1);
    await fleet.nodes[1]!.start();
    await fleet.nodes[0]!.crash(fleet.pids);
    const done = await waitUntil(
      'the lost run to fail',
      async () => {
        const r = await registry(fleet.storeUrl);
        return names.every((n) => r.get(n)?.status === 'failed') ? r : undefined;
      },
      60_000,
    );
    expect(done.get(names[0]!)).toMatchObject({ question: 'node a lost', node: 'b', epoch: 1 });
    expect(fleet.out.lines('ends')).toEqual([]);
  }, 120_000);

  async function fleetView(node: TestNode): Promise<FleetView> {
    return fleetNodes(node);
  }
});
