import { writeFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { cancelWorkspace } from '../../src/dispatch/control.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import type { FleetView } from '../../src/fleet/index.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, json } from '../helpers/cli.js';
import { serverEnv } from '../mcp/fixture.js';
import { waitForGate, waitUntil } from '../helpers/dispatch.js';
import { isDone, makeNode, registry, type TestNode, useFleet } from './harness.js';
import { ISOLATION, ISOLATION_LABEL } from './sandbox.js';

const YAML = 'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 3\n';

describe.skipIf(!inject('postgresUrl'))(
  `commands given on another node reach the owner (${ISOLATION_LABEL})`,
  () => {
    const fleet = useFleet();

    /**
     * Starts node a alone, has its agents run `count` tasks (each says hello in its log, then
     * waits for the fleet.gate; a SIGTERM is noted in `terminated`), then starts node b.
     */
    async function runOnA(count: number, yaml = YAML): Promise<string[]> {
      fleet.nodes = ['a', 'b'].map((id) => makeNode(id, fleet.storeUrl, yaml));
      const [a, b] = fleet.nodes as [TestNode, TestNode];
      await a.start();
      const task = [
        'n=$(echo "$AGENTIC_WORKSPACE" | tr / _)',
        `trap 'echo "$n" >> ${fleet.out.dir}/terminated; exit 143' TERM`,
        'echo "hello from node a: $n"',
        `echo "$n" >> ${fleet.out.dir}/starts`,
        waitForGate(fleet.gate),
        `echo "$n" >> ${fleet.out.dir}/ends`,
      ].join('\n');
      const ctx = a.context();
      const names: string[] = [];
      try {
        for (let i = 1; i <= count; i++)
          names.push(
            (await enqueueDispatch(ctx, { repo: fleet.repo, agent: 'shell', task, issue: i }))
              .workspace,
          );
      } finally {
        await ctx.close();
      }
      const reg = await waitUntil(
        'node a to run its agents',
        async () => {
          const r = await registry(fleet.storeUrl);
          const all = names.every((n) => r.get(n)?.node === 'a' && r.get(n)?.pid !== undefined);
          return all && fleet.out.lines('starts').length === count ? r : undefined;
        },
        30_000,
      );
      for (const n of names) fleet.pids.push(reg.get(n)!.pid!);
      await b.start();
      return names;
    }

    const flat = (name: string): string => name.replaceAll('/', '_');

    /**
     * Process groups on node b's side, as b's own work would be, which b must never signal: in
     * namespaces each has the very pid of one of a's agents, as on two hosts.
     */
    async function decoysOn(b: TestNode): Promise<number[]> {
      const decoys = await b.spawnGroups('exec sleep 600', fleet.pids);
      if (!ISOLATION.ok) fleet.pids.push(...decoys);
      return decoys;
    }

    it("cancel on node b of node a's agent: a terminates it, the record ends cancelled, nothing on b is signalled", async () => {
      const [name] = (await runOnA(1)) as [string];
      const [a, b] = fleet.nodes as [TestNode, TestNode];
      const decoys = await decoysOn(b);

      const res = await b.cli(['cancel', name, '--json']);
      expect(res.code, res.stderr).toBe(0);
      await waitUntil(
        "node a's agent to get SIGTERM",
        () => fleet.out.lines('terminated').includes(flat(name)),
        30_000,
      );
      const done = await waitUntil(
        'the record to end cancelled',
        async () => {
          const r = (await registry(fleet.storeUrl)).get(name);
          return r?.status === 'cancelled' ? r : undefined;
        },
        30_000,
      );
      expect(done.node).toBe('a');
      expect(a.daemon!.stderr()).toContain('terminating an agent as its shared record asks');
      expect(b.daemon!.stderr()).not.toContain('terminating an agent');
      for (const d of decoys) expect(b.groupAlive(d)).toBe(true);
      expect(fleet.out.lines('ends')).toEqual([]);
    }, 150_000);

    it('a cancel given while the owner is down is carried fleet.out once it is back and re-attaches', async () => {
      // A long lease: node b must not take a's work over while a is down.
      const yaml =
        'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 120\n';
      const [name] = (await runOnA(1, yaml)) as [string];
      const [a, b] = fleet.nodes as [TestNode, TestNode];
      await a.daemon!.stop('SIGKILL');
      const ctx = b.context();
      try {
        expect((await cancelWorkspace(ctx, name)).kill_reason).toBe('cancel');
      } finally {
        await ctx.close();
      }
      const back = await a.start();
      await waitUntil('node a to re-attach its agent', () =>
        back.stderr().includes('"reattached":1'),
      );
      await waitUntil(
        "node a's agent to get SIGTERM",
        () => fleet.out.lines('terminated').includes(flat(name)),
        30_000,
      );
      await waitUntil(
        'the record to end cancelled on node a',
        async () => {
          const r = (await registry(fleet.storeUrl)).get(name);
          return r?.status === 'cancelled' && r.node === 'a';
        },
        30_000,
      );
      expect(fleet.out.lines('ends')).toEqual([]);
    }, 150_000);

    it("kill on node b ends node a's agents (failed, killed by operator)", async () => {
      const names = await runOnA(2);
      const [a, b] = fleet.nodes as [TestNode, TestNode];
      const decoys = await decoysOn(b);
      const res = await b.cli(['kill', '--json']);
      expect(res.code, res.stderr).toBe(0);
      expect(json<{ killed: string[] }>(res).killed.sort()).toEqual([...names].sort());
      await waitUntil(
        "both of node a's agents to get SIGTERM",
        () => names.every((n) => fleet.out.lines('terminated').includes(flat(n))),
        30_000,
      );
      const done = await waitUntil(
        'both records to end failed',
        async () => {
          const r = await registry(fleet.storeUrl);
          return names.every((n) => r.get(n)?.status === 'failed') ? r : undefined;
        },
        30_000,
      );
      for (const n of names)
        expect(done.get(n)).toMatchObject({ node: 'a', question: 'killed by operator' });
      expect(a.daemon!.stderr()).toContain('terminating an agent as its shared record asks');
      for (const d of decoys) expect(b.groupAlive(d)).toBe(true);
      expect(fleet.out.lines('ends')).toEqual([]);
    }, 150_000);

    it("logs on node b of node a's workspace (CLI and MCP) print a's log; status on b names node a", async () => {
      const [name] = (await runOnA(1)) as [string];
      const b = fleet.nodes[1]!;
      const res = await b.cli(['logs', name, '--json']);
      expect(res.code, res.stderr).toBe(0);
      const doc = json<{ node: string; output: string; truncated: boolean }>(res);
      expect(doc).toMatchObject({ node: 'a', truncated: false });
      expect(doc.output).toContain(`hello from node a: ${flat(name)}`);

      const raw = await b.cli(['logs', name, '--raw']);
      expect(raw.code, raw.stderr).toBe(0);
      expect(raw.stdout).toContain(`hello from node a: ${flat(name)}`);
      expect(raw.stderr).toContain('log of node a');

      // The MCP logs tool of a server on node b asks node a the same way.
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'mcp'],
        env: { ...serverEnv(b.root), ...b.env },
        cwd: b.root.coreRoot,
        stderr: 'pipe',
      });
      const client = new Client({ name: 'agentic-test', version: '0.0.0' });
      await client.connect(transport);
      try {
        const result = await client.callTool({
          name: 'agentic_logs',
          arguments: { workspace: name, tail: 10 },
        });
        expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
        expect(result.structuredContent).toMatchObject({ workspace: name, node: 'a' });
        expect((result.structuredContent as { text: string }).text).toContain(
          `hello from node a: ${flat(name)}`,
        );
      } finally {
        await client.close();
      }

      const status = json<{ workspaces: Array<{ name: string; node: string | null }> }>(
        await b.cli(['status', '--json']),
      );
      expect(status.workspaces).toEqual([expect.objectContaining({ name, node: 'a' })]);
      expect((await b.cli(['status'])).stdout).toMatch(/NODE[\s\S]*running\s+a\s/);
    }, 150_000);

    it('logs of a workspace whose node is not live say where the logs are', async () => {
      const [name] = (await runOnA(1)) as [string];
      const [a, b] = fleet.nodes as [TestNode, TestNode];
      writeFileSync(fleet.gate, '');
      await waitUntil(
        'the task to complete on node a',
        async () => isDone((await registry(fleet.storeUrl)).get(name)),
        30_000,
      );
      await a.daemon!.stop('SIGKILL');
      await waitUntil(
        "node a's lease to run fleet.out",
        async () => {
          const view = json<FleetView>(await b.cli(['fleet', 'nodes', '--json']));
          return view.nodes.some((n) => n.node_id === 'a' && n.lease !== 'live');
        },
        30_000,
      );
      const res = await b.cli(['logs', name]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain('node a is not live; its logs are on that machine');
    }, 150_000);
  },
);
