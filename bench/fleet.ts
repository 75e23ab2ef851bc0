// Store-level claim + finish throughput on PostgreSQL: agentic's own claim (claimReady) and run
// end (endRuns) for N queued `shell` jobs at concurrency C, on one node and on three, against
// pg-boss fetching and completing N no-op jobs at the same concurrency on the same cluster, side
// by side. Every node, on either side, is its own process (bench/fleet-node.ts), as separate
// hosts would be: three nodes in one process would share one event loop and could never beat
// one when the client is CPU-bound. Each node runs C workers, as a node's runner would: three
// nodes have 3C jobs in flight, on both sides, and agentic's fleet-wide `shell` limit is set to
// admit them all (3C), so it is checked on every claim but never binds.
// No clone and no agent process: the whole path (git, spawning) is bench/dispatch.ts.
// Reported per variant: jobs/s (from `go` to the last job finished), client CPU per job (the sum
// of the node processes' user + system time while they worked) and server transactions per job
// (xact_commit of the variant's own database, node start-up's few dozen included).
// Usage: npx tsx bench/fleet.ts [N=10000] [C=8]  (BENCH_PG_URL=postgres://… or a throwaway
// cluster is started with initdb/pg_ctl, as the tests do; BENCH_CPU_PROF=<dir> profiles the nodes;
// BENCH_RTT_MS=<ms> puts the database that far from the nodes, on both sides, through a proxy in
// this process (bench/latency-proxy.ts), as on the separate hosts of a real fleet)
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { loadConfigSync } from '../src/config/load-sync.js';
import { createAppContext } from '../src/compose.js';
import { trackInTransaction } from '../src/lifecycle/index.js';
import { silentLogger } from '../src/lib/logger.js';
import { GROUPS } from '../src/store/index.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { wallNow, type FromNode, type NodeSpec, type ToNode } from './fleet-node.js';
import { startLatencyProxy } from './latency-proxy.js';

const N = Number(process.argv[2] ?? 10_000);
const C = Number(process.argv[3] ?? 8);
const BATCH = 500;
const STALL_MS = 120_000;
// agentic's fleet store opens its pool with max 10 (openPostgresStore), pg-boss's default: both
// sides get the same connections per node.
const POOL_MAX = 10;
const PROFILE_DIR = process.env['BENCH_CPU_PROF'];
const RTT_MS = Number(process.env['BENCH_RTT_MS'] ?? 0);
if (!Number.isFinite(RTT_MS) || RTT_MS < 0) throw new Error('BENCH_RTT_MS must be a number ≥ 0');
const NODE_SCRIPT = fileURLToPath(new URL('./fleet-node.ts', import.meta.url));

type Side = NodeSpec['side'];

/** What one variant (a side on a number of nodes) measured. */
interface Figures {
  rate: number;
  cpuMsPerJob: number;
  xactsPerJob: number;
}

interface DbRef {
  name: string;
  url: string;
}

async function freshDatabase(admin: pg.Client, base: string, tag: string): Promise<DbRef> {
  const name = `bench_${tag}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  return { name, url: base.replace(/\/[^/]*$/, `/${name}`) };
}

/**
 * The database's committed transactions. Backends send their counts to the shared statistics
 * when idle for a while or when they exit, so this waits until two reads 200 ms apart agree.
 * `admin` is connected to another database, so its own reads are not counted.
 */
async function xactCommits(admin: pg.Client, db: string): Promise<number> {
  const read = async (): Promise<number> => {
    const { rows } = await admin.query<{ n: string }>(
      'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = $1',
      [db],
    );
    return Number(rows[0]?.n ?? 0);
  };
  let last = await read();
  for (let i = 0; i < 25; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const next = await read();
    if (next === last) return next;
    last = next;
  }
  return last;
}

async function enqueueAgentic(url: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'agentic-bench-fleet-'));
  const config = loadConfigSync(
    {},
    { CORE_WORKSPACE: root, CORE_AGENT_STORE_URL: url, CORE_AGENT_FLEET_NODE_ID: 'enqueuer' },
  );
  const ctx = createAppContext({ config, logger: silentLogger() });
  const queuedAt = new Date().toISOString();
  try {
    for (let from = 0; from < N; from += BATCH) {
      await trackInTransaction(ctx, async (track) => {
        for (let i = from; i < Math.min(N, from + BATCH); i++)
          await track(`core/bench/task-${i}`, {
            status: 'queued',
            agent: 'shell',
            repo: 'bench',
            org: 'core',
            task: 'true',
            branch: 'agent/bench',
            runs: 0,
            priority: 0,
            updated_at: '',
            queued_at: queuedAt,
            source: 'file:///bench.git',
          });
      });
    }
  } finally {
    await ctx.close();
    rmSync(root, { recursive: true, force: true });
  }
}

async function enqueuePgBoss(url: string): Promise<void> {
  const boss = new PgBoss({
    connectionString: url,
    max: POOL_MAX,
    supervise: false,
    schedule: false,
  });
  boss.on('error', () => undefined);
  await boss.start();
  try {
    await boss.createQueue('bench');
    for (let from = 0; from < N; from += BATCH)
      await boss.insert(
        Array.from({ length: Math.min(BATCH, N - from) }, () => ({ name: 'bench', data: {} })),
      );
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

/** A node process, with its messages as events. */
interface NodeProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
}

function startNode(spec: NodeSpec, onMessage: (msg: FromNode) => void): NodeProcess {
  const child = fork(NODE_SCRIPT, [JSON.stringify(spec)], {
    // BENCH_CPU_PROF=<dir> writes each node's V8 CPU profile there (open it in Chrome DevTools).
    execArgv: [
      '--import',
      'tsx',
      ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('message', (msg) => onMessage(msg as FromNode));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, exited };
}

/** Runs the node processes of one variant over a database already holding N jobs. */
async function runNodes(
  side: Side,
  url: string,
  nodes: number,
): Promise<Omit<Figures, 'xactsPerJob'> & { finished: string[] }> {
  const counts = new Array<number>(nodes).fill(0);
  const results: Extract<FromNode, { type: 'result' }>[] = [];
  let readyCount = 0;
  let progressAt = Date.now();
  const signal = (): { promise: Promise<void>; fire: () => void } => {
    let fire: () => void = () => undefined;
    const promise = new Promise<void>((r) => (fire = r));
    return { promise, fire };
  };
  const ready = signal();
  const done = signal();
  const reported = signal();
  const procs = Array.from({ length: nodes }, (_, i) =>
    startNode(
      { side, url, nodeId: `n${i}`, workers: C, limit: C * nodes, poolMax: POOL_MAX },
      (msg) => {
        if (msg.type === 'ready' && ++readyCount === nodes) ready.fire();
        if (msg.type === 'done') {
          counts[i] = msg.done;
          progressAt = Date.now();
          if (counts.reduce((a, b) => a + b, 0) >= N) done.fire();
        }
        if (msg.type === 'result' && results.push(msg) === nodes) reported.fire();
      },
    ),
  );
  const send = (msg: ToNode): void => {
    for (const { child } of procs) if (child.connected) child.send(msg);
  };
  // A node that dies before it reported must fail the run, not leave it waiting for counts that
  // never come; once every node has reported, their exits are expected.
  // A clean exit (0) may be seen before its last message is: the watchdog covers one that never
  // reports.
  const died = Promise.race(procs.map((p) => p.exited)).then((code) => {
    if (results.length < nodes && code !== 0)
      throw new Error(`a ${side} node exited early (code ${code})`);
  });
  // Nor must a run that stopped finishing jobs (a claim that never comes back) hang the bench.
  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    watchdog = setInterval(() => {
      if (Date.now() - progressAt > STALL_MS)
        reject(new Error(`${side} on ${nodes} node(s): no job finished for ${STALL_MS / 1000} s`));
    }, 1000);
  });
  const failed = Promise.race([died, stalled]);
  failed.catch(() => undefined);
  let goAt = 0;
  try {
    await Promise.race([ready.promise, failed]);
    goAt = wallNow();
    progressAt = Date.now();
    send({ type: 'go' });
    await Promise.race([done.promise, failed]);
    send({ type: 'stop' });
    await Promise.race([reported.promise, failed]);
  } catch (err) {
    for (const { child } of procs) if (child.exitCode === null) child.kill('SIGKILL');
    throw err;
  } finally {
    clearInterval(watchdog);
  }
  await Promise.all(procs.map((p) => p.exited));
  const seconds = (Math.max(...results.map((r) => r.lastAt)) - goAt) / 1000;
  const cpuMicros = results.reduce((a, r) => a + r.cpuMicros, 0);
  const finished = results.flatMap((r) => r.finished);
  return { rate: N / seconds, cpuMsPerJob: cpuMicros / 1000 / N, finished };
}

/** Each job was finished once, by one node: the names (pg-boss: ids) the nodes report. */
function verifyOnce(side: Side, nodes: number, finished: string[]): void {
  const distinct = new Set(finished).size;
  if (distinct !== N || finished.length !== N)
    console.log(
      `  ${side}, ${nodes} node(s): NOT exactly once: ${finished.length} finishes of ${distinct} ` +
        `distinct jobs (of ${N})`,
    );
}

/** The store agrees: N completed records, none running, none queued, the pool's count at 0. */
async function verifyAgenticStore(url: string, nodes: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const count = async (sql: string, values: unknown[]): Promise<number> =>
      Number((await client.query<{ n: string }>(sql, values)).rows[0]?.n ?? 0);
    const completed = await count(
      `SELECT count(*)::text AS n FROM kv WHERE grp = $1 AND value->>'status' = 'completed'`,
      [GROUPS.registry],
    );
    const running = await count('SELECT count(*)::text AS n FROM kv WHERE grp = $1', [
      GROUPS.running,
    ]);
    const queued = await count('SELECT count(*)::text AS n FROM kv WHERE grp = $1', [GROUPS.queue]);
    const slots = await count(
      `SELECT COALESCE(SUM((value->>'running')::int), 0)::text AS n FROM kv WHERE grp = $1`,
      [GROUPS.concurrency],
    );
    if (completed !== N || running !== 0 || queued !== 0 || slots !== 0)
      console.log(
        `  agentic, ${nodes} node(s): store disagrees: ${completed}/${N} records completed, ` +
          `${running} running, ${queued} queued, concurrency count ${slots}`,
      );
  } finally {
    await client.end();
  }
}

async function variant(
  admin: pg.Client,
  base: string,
  side: Side,
  nodes: number,
): Promise<Figures> {
  const db = await freshDatabase(admin, base, `${side.replace('-', '')}${nodes}`);
  await (side === 'agentic' ? enqueueAgentic(db.url) : enqueuePgBoss(db.url));
  const before = await xactCommits(admin, db.name);
  const proxy =
    RTT_MS > 0 ? await startLatencyProxy(Number(new URL(db.url).port), RTT_MS) : undefined;
  const nodeUrl = new URL(db.url);
  if (proxy) nodeUrl.port = String(proxy.port);
  const { finished, ...figures } = await runNodes(side, nodeUrl.toString(), nodes).finally(() =>
    proxy?.close(),
  );
  const xacts = (await xactCommits(admin, db.name)) - before;
  verifyOnce(side, nodes, finished);
  if (side === 'agentic') await verifyAgenticStore(db.url, nodes);
  // Every client has gone (the nodes exited, the enqueuer and the checks closed their pools).
  await admin.query(`DROP DATABASE ${db.name}`);
  return { ...figures, xactsPerJob: xacts / N };
}

const cluster = process.env['BENCH_PG_URL'] ? undefined : await startPostgres();
const base = process.env['BENCH_PG_URL'] ?? cluster?.url;
if (!base) throw new Error('no PostgreSQL: set BENCH_PG_URL or install initdb/pg_ctl');
const admin = new pg.Client({ connectionString: base });
await admin.connect();
try {
  console.log(
    `claim + finish of ${N} jobs at concurrency ${C} per node (one process each; agentic's ` +
      `fleet limit ${C} and ${3 * C}); client pool max ${POOL_MAX} per node on both sides; ` +
      (RTT_MS > 0 ? `database ${RTT_MS} ms round trip away` : 'database on loopback'),
  );
  // The machine may be shared: its load, before and after, says how far to trust the figures.
  const load = (): string =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(`load average ${load()} on ${availableParallelism()} cores`);
  console.log(
    `${'variant'.padEnd(18)}${'jobs/s'.padStart(8)}${'client CPU ms/job'.padStart(19)}` +
      `${'server xacts/job'.padStart(18)}`,
  );
  const figures = new Map<string, Figures>();
  // Turns, so that drift of the shared machine hits both sides alike.
  for (const nodes of [1, 3])
    for (const side of ['agentic', 'pg-boss'] as const) {
      const f = await variant(admin, base, side, nodes);
      figures.set(`${side} ${nodes}`, f);
      const label = `${side}, ${nodes} node${nodes > 1 ? 's' : ''}`;
      console.log(
        `${label.padEnd(18)}${f.rate.toFixed(0).padStart(8)}${f.cpuMsPerJob.toFixed(3).padStart(19)}` +
          `${f.xactsPerJob.toFixed(2).padStart(18)}`,
      );
    }
  const get = (key: string): Figures => figures.get(key) as Figures;
  const ratio = (a: Figures, b: Figures): string => (a.rate / b.rate).toFixed(2);
  console.log(
    `agentic/pg-boss: 1 node ${ratio(get('agentic 1'), get('pg-boss 1'))}, ` +
      `3 nodes ${ratio(get('agentic 3'), get('pg-boss 3'))}  (target ≥ 1.0 on one node)`,
  );
  console.log(
    `3 nodes/1 node: agentic ${ratio(get('agentic 3'), get('agentic 1'))}, ` +
      `pg-boss ${ratio(get('pg-boss 3'), get('pg-boss 1'))}  (target ≥ 2 for agentic)`,
  );
  console.log(`load average ${load()}`);
} finally {
  await admin.end();
  await cluster?.stop();
}
