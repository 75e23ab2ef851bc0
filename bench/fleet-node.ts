// One node of bench/fleet.ts, in its own process as a separate host would be: agentic's claim
// (claimReady) and run end (endRuns) against the fleet store, or pg-boss's fetch and complete,
// with `workers` loops. As a child: `node --import tsx bench/fleet-node.ts '<NodeSpec JSON>'`
// over an IPC channel. It opens its pool, says `ready`, starts on `go`, reports its running
// count while it works, and on `stop` sends its CPU time and exits. As a module: the messages.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PgBoss from 'pg-boss';
import { loadConfigSync } from '../src/config/load-sync.js';
import { createAppContext } from '../src/compose.js';
import { claimReady } from '../src/dispatch/claim.js';
import { endRuns } from '../src/dispatch/finish.js';
import { silentLogger } from '../src/lib/logger.js';

/** What one node process is to do. */
export interface NodeSpec {
  side: 'agentic' | 'pg-boss';
  url: string;
  nodeId: string;
  workers: number;
  /** The `shell` pool's limit written to the node's agents.yaml (the whole fleet's concurrency). */
  limit: number;
  /** Client pool size; agentic's store has no knob for it, so this is only passed to pg-boss. */
  poolMax: number;
}

/** Parent → node. */
export type ToNode = { type: 'go' } | { type: 'stop' };

/** Node → parent: `done` is cumulative; `lastAt` is when the last job finished ({@link wallNow}). */
export type FromNode =
  | { type: 'ready' }
  | { type: 'done'; done: number }
  | { type: 'result'; done: number; lastAt: number; cpuMicros: number; finished: string[] };

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** One claim (or fetch) and its finish: the name (or job id) finished, undefined when none was ready. */
type Step = () => Promise<string | undefined>;

async function agenticNode(spec: NodeSpec): Promise<{ step: Step; close: () => Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), 'agentic-bench-fleet-'));
  writeFileSync(join(root, 'agents.yaml'), `concurrency:\n  shell: ${spec.limit}\n`);
  const config = loadConfigSync(
    {},
    { CORE_WORKSPACE: root, CORE_AGENT_STORE_URL: spec.url, CORE_AGENT_FLEET_NODE_ID: spec.nodeId },
  );
  const ctx = createAppContext({ config, logger: silentLogger() });
  await ctx.store(); // the pool and its migrations check, before the clock starts
  const step: Step = async () => {
    const { claims } = await claimReady(ctx, 1, ctx.config.nodeId);
    const claim = claims[0];
    if (claim === undefined) return undefined;
    const end = { kind: 'exited', exitCode: 0, signal: null, endedAt: new Date() } as const;
    const ref = { runs: claim.record.runs, pid: undefined };
    const { durable } = await endRuns(ctx, [{ name: claim.name, ref, end }]);
    await durable;
    return claim.name;
  };
  return {
    step,
    close: async () => {
      await ctx.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function pgBossNode(spec: NodeSpec): Promise<{ step: Step; close: () => Promise<void> }> {
  const boss = new PgBoss({
    connectionString: spec.url,
    max: spec.poolMax,
    supervise: false,
    schedule: false,
  });
  boss.on('error', () => undefined);
  await boss.start();
  const step: Step = async () => {
    const [job] = await boss.fetch('bench');
    if (job === undefined) return undefined;
    await boss.complete('bench', job.id);
    return job.id;
  };
  return { step, close: () => boss.stop({ graceful: false, wait: true }) };
}

async function main(spec: NodeSpec): Promise<void> {
  const send = (msg: FromNode): void => {
    process.send?.(msg);
  };
  const node = spec.side === 'agentic' ? await agenticNode(spec) : await pgBossNode(spec);
  let stopping = false;
  // What this node finished, for the parent's exactly-once check across nodes.
  const finished: string[] = [];
  let done = 0;
  let lastAt = 0;
  let reportPending = false;
  // Progress goes out at most every 5 ms, so the messages cost little CPU; the parent only needs
  // it to know when the whole run is over, and the exact end time comes from `lastAt`.
  const report = (): void => {
    if (reportPending) return;
    reportPending = true;
    setTimeout(() => {
      reportPending = false;
      send({ type: 'done', done });
    }, 5);
  };
  const worker = async (): Promise<void> => {
    while (!stopping) {
      const name = await node.step();
      if (name !== undefined) {
        finished.push(name);
        done++;
        lastAt = wallNow();
        report();
      } else await new Promise((r) => setTimeout(r, 1));
    }
  };
  const go = new Promise<void>((resolve) => {
    process.on('message', (msg: ToNode) => {
      if (msg.type === 'go') resolve();
      else stopping = true;
    });
  });
  // A parent that died (or was interrupted) leaves no node looping on an empty queue.
  process.once('disconnect', () => {
    if (!stopping) process.exit(1);
  });
  send({ type: 'ready' });
  await go;
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: spec.workers }, () => worker()));
  const used = process.cpuUsage(cpu);
  // The result (every name this node finished) can be large: it must be on its way out before
  // the channel closes.
  const result: FromNode = {
    type: 'result',
    done,
    lastAt,
    cpuMicros: used.user + used.system,
    finished,
  };
  await new Promise<void>((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(result, () => resolve());
  });
  await node.close();
  process.disconnect();
}

if (process.argv[2] !== undefined && process.send !== undefined) {
  await main(JSON.parse(process.argv[2]) as NodeSpec);
}
