import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import type { DispatchInput } from '../../src/dispatch/dispatch-input.js';
import {
  GIT_ENV,
  startDaemon,
  waitUntil,
  writeAgentsYaml,
  type Daemon,
} from '../helpers/dispatch.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { freshPostgresDatabase } from '../helpers/engines.js';
import { git } from '../helpers/git.js';
import { groupAlive } from '../../src/lib/proc.js';
import { createSandbox, ISOLATION, type Sandbox } from './sandbox.js';

/**
 * A node of a test fleet: its own CoreRoot and, where the machine allows (root, util-linux), its
 * own PID and mount namespaces ({@link Sandbox}), so it sees neither the other nodes' processes
 * nor their CoreRoots, as on separate hosts. Otherwise nodes are plain processes sharing the
 * machine's process table, and test titles say so ({@link ISOLATION_LABEL}). Pids in shared
 * records are the node's own: use the node's methods to signal or inspect them.
 */
export interface TestNode {
  id: string;
  root: TempRoot;
  env: Record<string, string>;
  daemon: Daemon | undefined;
  /** Starts (or restarts) the node's daemon; `ready` is the log text that counts as started. */
  start(ready?: string): Promise<Daemon>;
  /** A context on this node, for enqueueing in-process. */
  context(): AppContext;
  /** Runs the CLI on this node. */
  cli(args: string[], options?: { input?: string }): Promise<CliResult>;
  /** The pid this node knows its daemon by (what it registers). */
  daemonPid(): number;
  /** SIGKILLs the process group this node knows by `pid`. */
  killGroup(pid: number): void;
  /**
   * Spawns `sh -c script` as a process group leader on this node once per entry of `pids`; on
   * a sandboxed node each gets that very pid (as the node sees pids), else whatever is free.
   * Resolves to the pids the node sees. The script should `exec` its last command: a fork
   * would take the next pid, which another group may want.
   */
  spawnGroups(script: string, pids: number[]): Promise<number[]>;
  /** Whether the process group this node knows by `pid` is alive. */
  groupAlive(pid: number): boolean;
  /**
   * The machine dies: its daemon and every agent are SIGKILLed (a sandboxed node's whole
   * namespace, so the next start is a fresh boot; else the daemon and the groups in `agents`).
   */
  crash(agents: number[]): Promise<void>;
}

/** Nodes made and not torn down yet: a sandboxed node hides the others' CoreRoots. */
const liveNodes = new Map<TestNode, NodeState>();
interface NodeState {
  sandbox?: Promise<Sandbox> | undefined;
  /** The sandbox once it exists. */
  box?: Sandbox | undefined;
}

/** A directory shared by every node's agents: tasks leave their side effects here. */
export interface Outbox {
  dir: string;
  /** Workspace names (slashes as `_`) in the order the file has them. */
  lines(file: 'starts' | 'ends' | 'terminated'): string[];
  cleanup(): void;
}

/** Creates the shared outbox. */
export function outbox(): Outbox {
  const dir = mkdtempSync(join(tmpdir(), 'agentic-fleet-out-'));
  mkdirSync(join(dir, 'active'));
  const read = (file: string): string[] => {
    try {
      return readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  return {
    dir,
    lines: (file) => read(file),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A shell task that appends its workspace to `starts`, waits (for `gate` when given, else
 * `seconds`), then appends it to `ends`: the agents' own count of how often each task ran.
 */
export function countingTask(out: Outbox, options: { seconds?: number; gate?: string }): string {
  const wait = options.gate
    ? `i=0; while [ ! -f ${options.gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`
    : `sleep ${options.seconds ?? 0.2}`;
  return [
    'n=$(echo "$AGENTIC_WORKSPACE" | tr / _)',
    `echo "$n" >> ${out.dir}/starts`,
    `touch ${out.dir}/active/$n.$$`,
    wait,
    `rm -f ${out.dir}/active/$n.$$`,
    `echo "$n" >> ${out.dir}/ends`,
  ].join('\n');
}

/** A bare repository with one commit, reachable as a `file://` URL from every node. */
export function bareRepo(dir: string): string {
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  git(work, 'init', '-q', '-b', 'trunk');
  writeFileSync(join(work, 'README.md'), '# fleet\n');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'initial');
  const bare = join(dir, 'fleet.git');
  execFileSync('git', ['clone', '-q', '--bare', work, bare], {
    env: { ...process.env, ...GIT_ENV },
  });
  return `file://${bare}`;
}

/** A node `id` on the shared store, with `yaml` as its agents.yaml. */
export function makeNode(id: string, storeUrl: string, yaml: string): TestNode {
  const root = tempRoot(`agentic-node-${id}-`);
  writeAgentsYaml(root, yaml);
  const env = { CORE_AGENT_STORE_URL: storeUrl, CORE_AGENT_FLEET_NODE_ID: id };
  const state: NodeState = {};
  const sandbox = (): Promise<Sandbox> | undefined => {
    if (!ISOLATION.ok) return undefined;
    state.sandbox ??= createSandbox().then((box) => {
      for (const other of liveNodes.keys()) if (other !== node) box.hide(other.root.coreRoot);
      state.box = box;
      return box;
    });
    return state.sandbox;
  };
  const launcher = async (): Promise<string[]> => (await sandbox())?.prefix ?? [];
  /** The host pid of what this node calls `pid` (the same number without a sandbox). */
  const hostPid = (pid: number): number | undefined => (state.box ? state.box.hostPid(pid) : pid);
  const node: TestNode = {
    id,
    root,
    env,
    daemon: undefined,
    async start(ready) {
      node.daemon = await startDaemon(root, env, ready, await launcher());
      return node.daemon;
    },
    context: () => testContext(root, { env: { ...root.env, ...env } }),
    async cli(args, options = {}) {
      return runCli(
        args,
        { ...GIT_ENV, ...root.env, ...env },
        {
          ...options,
          launcher: await launcher(),
        },
      );
    },
    daemonPid() {
      const pid = node.daemon!.pid;
      return state.box ? state.box.nsPid(pid) : pid;
    },
    killGroup(pid) {
      const host = hostPid(pid);
      if (host !== undefined) killGroup(host);
    },
    async spawnGroups(script, pids) {
      const box = await sandbox();
      if (!box)
        return pids.map(() => {
          const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
          child.unref();
          return child.pid!;
        });
      // One shell inside the node: before each fork it sets the pid the kernel hands out next.
      const inner = [
        'for p in $1; do',
        '  echo $((p - 1)) > /proc/sys/kernel/ns_last_pid',
        '  setsid sh -c "$0" </dev/null >/dev/null 2>&1 &',
        '  echo $!',
        'done',
      ].join('\n');
      const res = spawnSync(
        box.prefix[0]!,
        [...box.prefix.slice(1), 'sh', '-c', inner, script, pids.join(' ')],
        { encoding: 'utf8' },
      );
      if (res.status !== 0) throw new Error(`spawn on node ${id} failed: ${res.stderr}`);
      const got = res.stdout.split('\n').filter(Boolean).map(Number);
      if (got.join() !== pids.join())
        throw new Error(`node ${id} gave pids ${got.join()}, not ${pids.join()} (taken there?)`);
      return got;
    },
    groupAlive(pid) {
      const host = hostPid(pid);
      return host !== undefined && groupAlive(host);
    },
    async crash(agents) {
      const box = await state.sandbox;
      if (box) {
        await box.destroy();
        state.sandbox = state.box = undefined;
        await node.daemon?.stop('SIGKILL');
        return;
      }
      await node.daemon?.stop('SIGKILL');
      for (const pid of agents) killGroup(pid);
    },
  };
  // A sandbox still being made hides this root when it is done (it reads liveNodes then).
  for (const other of liveNodes.values()) other.box?.hide(root.coreRoot);
  liveNodes.set(node, state);
  return node;
}

/** The fields of a registry record the fleet tests look at (the rest compared whole). */
export interface SharedRecord {
  status: string;
  node?: string;
  epoch?: number;
  pid?: number;
  closeout?: string;
  updated_at: string;
}

/** The shared registry as one SQL read sees it. */
export async function registry(storeUrl: string): Promise<Map<string, SharedRecord>> {
  const client = new pg.Client({ connectionString: storeUrl });
  await client.connect();
  try {
    const res = await client.query<{ key: string; value: SharedRecord }>(
      "SELECT key, value FROM kv WHERE grp = 'registry'",
    );
    return new Map(res.rows.map((r) => [r.key, r.value]));
  } finally {
    await client.end();
  }
}

/**
 * After a fleet test: SIGKILLs every node's daemon and agents (a sandboxed node's whole
 * namespace; else its daemon and the agent groups in `pids`), then removes the nodes'
 * CoreRoots, the outbox and `dir`. The caller empties its lists for the next test.
 */
export async function tearDownFleet(parts: {
  nodes: TestNode[];
  pids?: number[];
  out?: Outbox;
  dir: string;
}): Promise<void> {
  for (const n of parts.nodes) {
    const state = liveNodes.get(n);
    liveNodes.delete(n);
    const box = await state?.sandbox?.catch(() => undefined);
    if (box) await box.destroy();
    else await n.daemon?.stop('SIGKILL');
  }
  // Pids of sandboxed nodes are their own: gone with the namespace, never signalled here.
  if (!ISOLATION.ok) for (const pid of parts.pids ?? []) killGroup(pid);
  for (const n of parts.nodes) n.root.cleanup();
  parts.out?.cleanup();
  rmSync(parts.dir, { recursive: true, force: true });
}

/** What one fleet test works with, fresh for each test (see {@link useFleet}). */
export interface Fleet {
  /** A temp directory, removed after the test. */
  dir: string;
  /** A fresh database of the test cluster. */
  storeUrl: string;
  out: Outbox;
  /** The file gated tasks wait for; written after each test, so none is left waiting. */
  gate: string;
  /** A `file://` bare repository in `dir`. */
  repo: string;
  /** The test's nodes, torn down after it. */
  nodes: TestNode[];
  /** Agent pids to kill after the test (plain-process nodes only; see {@link tearDownFleet}). */
  pids: number[];
}

/**
 * Registers the hooks of a fleet describe: before each test a fresh {@link Fleet} (database from
 * `storeUrl`), after it the gate opened and everything torn down.
 */
export function useFleet(storeUrl: () => Promise<string> = freshPostgresDatabase): Fleet {
  const fleet = { nodes: [], pids: [] } as unknown as Fleet;
  beforeEach(async () => {
    fleet.dir = mkdtempSync(join(tmpdir(), 'agentic-fleet-'));
    fleet.storeUrl = await storeUrl();
    fleet.out = outbox();
    fleet.gate = join(fleet.out.dir, 'gate');
    fleet.repo = bareRepo(fleet.dir);
    fleet.nodes = [];
    fleet.pids = [];
  });
  afterEach(async () => {
    writeFileSync(fleet.gate, '');
    await tearDownFleet(fleet);
  });
  return fleet;
}

/** Sends SIGKILL to a process group, ignoring one that is already gone. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Samples, until stopped, the most records running at once in the shared registry and the most agents active at once. */
export function sampleRunning(
  storeUrl: string,
  out: Outbox,
): { stop(): Promise<{ registry: number; agents: number; samples: number }> } {
  let registryMax = 0;
  let agentsMax = 0;
  let samples = 0;
  let stopped = false;
  const client = new pg.Client({ connectionString: storeUrl });
  const loop = (async () => {
    await client.connect();
    while (!stopped) {
      const res = await client.query<{ n: number }>(
        "SELECT COUNT(*)::int AS n FROM kv WHERE grp = 'registry' AND value->>'status' = 'running'",
      );
      registryMax = Math.max(registryMax, res.rows[0]?.n ?? 0);
      agentsMax = Math.max(agentsMax, readdirSync(join(out.dir, 'active')).length);
      samples++;
      await new Promise((r) => setTimeout(r, 25));
    }
    await client.end();
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { registry: registryMax, agents: agentsMax, samples };
    },
  };
}

/** True for a record that completed and whose closeout (harvest, hand-back) is over: nothing more will write it. */
export function isDone(record: SharedRecord | undefined): boolean {
  return record?.status === 'completed' && record.closeout === undefined;
}

/** Enqueues `input` in-process on `node`; returns the workspace name. */
export async function enqueueOn(node: TestNode, input: DispatchInput): Promise<string> {
  const ctx = node.context();
  try {
    return (await enqueueDispatch(ctx, input)).workspace;
  } finally {
    await ctx.close();
  }
}

/** The registry fields the resume and pin tests read beyond {@link SharedRecord}. */
export type RunRecord = SharedRecord & {
  runs?: number;
  node_affinity?: string;
  affinity_reason?: string;
  pending_answer?: string;
};

/** One record of the shared registry, or undefined. */
export async function recordOf(storeUrl: string, name: string): Promise<RunRecord | undefined> {
  return (await registry(storeUrl)).get(name) as RunRecord | undefined;
}

/** Waits until `name` is blocked on `node`. */
export function blockedOn(storeUrl: string, node: string, name: string): Promise<RunRecord> {
  return waitUntil(`${name} to block on ${node}`, async () => {
    const r = await recordOf(storeUrl, name);
    return r?.status === 'blocked' && r.node === node ? r : undefined;
  });
}

/** Waits until `name` completed on `node` (closeout over) after `runs` runs. */
export function doneOn(
  storeUrl: string,
  node: string,
  name: string,
  runs: number,
): Promise<RunRecord> {
  return waitUntil(
    `${name} to complete on ${node}`,
    async () => {
      const r = await recordOf(storeUrl, name);
      return isDone(r) && r?.node === node && r.runs === runs ? r : undefined;
    },
    60_000,
  );
}
