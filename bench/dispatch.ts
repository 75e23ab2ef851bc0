// 1,000 `shell` dispatches of `true` at concurrency 8, enqueued from another process as a
// long-lived client (the MCP server) would, versus a plain script doing the same local clones
// and spawns with the same parallelism and no bookkeeping, the two taking turns in ten rounds;
// then enqueue→start latency from another process on an idle runner. Needs `npm run build` (the
// client processes load dist/). BENCH_STORE=postgres runs the runner and its clients on a
// throwaway PostgreSQL cluster (initdb/pg_ctl, as the tests do): the path of a fleet node.
// Usage: npx tsx bench/dispatch.ts [dispatches=1000] [latency-samples=100]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigSync } from '../src/config/load-sync.js';
import { createAppContext } from '../src/compose.js';
import { setFrozen } from '../src/dispatch/frozen.js';
import { Runner } from '../src/dispatch/runner.js';
import { readAllRecords } from '../src/lifecycle/index.js';
import { silentLogger } from '../src/lib/logger.js';
import { startPostgres } from '../test/helpers/postgres.js';
import {
  agenticRunner,
  BENCH_ENV,
  each,
  inParallel,
  makeRepo,
  run,
  spawnShell,
  startClient,
  takeTurns,
  total,
  type Side,
} from './common.js';

const N = Number(process.argv[2] ?? 1000);
const SAMPLES = Number(process.argv[3] ?? 100);
const CONCURRENCY = 8;
/** Rounds in which the two sides take turns (see takeTurns). */
const ROUNDS = 10;
const STORE = process.env['BENCH_STORE'] ?? 'sqlite';
if (STORE !== 'sqlite' && STORE !== 'postgres')
  throw new Error(`BENCH_STORE must be sqlite or postgres, not ${STORE}`);
const cluster = STORE === 'postgres' ? await startPostgres() : undefined;
const base = mkdtempSync(join(tmpdir(), 'agentic-bench-dispatch-'));

/**
 * On PostgreSQL, points the runner and the client processes (through BENCH_ENV) at a fresh
 * database `name` of the cluster, as fleet node `bench`.
 */
async function useDatabase(name: string): Promise<void> {
  if (!cluster) return;
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  BENCH_ENV['CORE_AGENT_STORE_URL'] = cluster.url.replace(/\/[^/]*$/, `/${name}`);
  BENCH_ENV['CORE_AGENT_FLEET_NODE_ID'] = 'bench';
}

/** The baseline: the same clone + branch + spawn per task, CONCURRENCY at a time, no bookkeeping. */
function baseline(repo: string, from: number, to: number): Promise<number> {
  const dir = join(base, 'plain');
  return inParallel(from, to, CONCURRENCY, async (i) => {
    const ws = join(dir, `task-${i}`);
    mkdirSync(ws, { recursive: true });
    await run('git', ['clone', '--local', '--quiet', '--', repo, join(ws, 'repo')], {
      env: BENCH_ENV,
    });
    await run('git', ['checkout', '--quiet', '-b', `agent/task-${i}`], {
      cwd: join(ws, 'repo'),
      env: BENCH_ENV,
    });
    await spawnShell(join(ws, 'repo'), 'true');
  });
}

/**
 * Enqueue from another process, one at a time, on an idle runner; latency = started_at −
 * queued_at. On PostgreSQL the client is another fleet node (its own CoreRoot and node id) and
 * the repository a `file://` URL, so the task is not pinned to it: enqueue on node A, start on
 * node B, woken by NOTIFY.
 */
async function latency(repo: string): Promise<number[]> {
  const root = join(base, 'latency');
  mkdirSync(root, { recursive: true });
  await useDatabase('bench_latency');
  const clientRoot = cluster ? join(base, 'latency-client') : root;
  mkdirSync(clientRoot, { recursive: true });
  const source = cluster ? `file://${repo}` : repo;
  const ctx = createAppContext({
    config: loadConfigSync({}, { ...BENCH_ENV, CORE_WORKSPACE: root }),
    logger: silentLogger(),
  });
  const runner = await Runner.start(ctx, { pollMs: 60_000 });
  if (!runner) throw new Error('no lease');
  await setFrozen(ctx, false);
  const client = await startClient(
    base,
    clientRoot,
    'latency.mjs',
    `for (let i = 0; i < ${SAMPLES}; i++) {
      const { workspace } = await enqueueDispatch(ctx, { repo: ${JSON.stringify(source)}, task: 'true', agent: 'shell', branch: 'lat-' + i });
      for (;;) { const r = await readRecord(ctx, workspace); if (r && r.status === 'completed') break; await new Promise((r) => setTimeout(r, 5)); }
      await new Promise((r) => setTimeout(r, 20));
    }`,
    cluster ? { CORE_AGENT_FLEET_NODE_ID: 'client' } : {},
  );
  await client.run({});
  await client.close();
  const values = [...(await readAllRecords(ctx)).values()].map(
    (r) => Date.parse(r.started_at ?? '') - Date.parse(r.queued_at ?? ''),
  );
  await runner.close();
  await ctx.close();
  return values.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

try {
  const repo = await makeRepo(base);
  await useDatabase('bench_dispatch');
  const runner = await agenticRunner({
    base,
    agentsYaml: `concurrency:\n  shell: ${CONCURRENCY}\n`,
    enqueue: `for (let i = arg.from; i < arg.to; i++)
      await enqueueDispatch(ctx, { repo: ${JSON.stringify(repo)}, task: 'true', agent: 'shell', branch: 'task-' + i });`,
    check: (r) => (r.status === 'completed' ? undefined : `${r.status}: ${r.question}`),
  });
  const plain: Side = { turns: [], run: (from, to) => baseline(repo, from, to) };
  const ours: Side = { turns: [], run: (from, to) => runner.chunk(from, to) };
  try {
    await takeTurns(N, ROUNDS, plain, ours);
  } finally {
    await runner.close();
  }
  console.log(
    `dispatches: ${N} at concurrency ${CONCURRENCY}, in ${ROUNDS} rounds, store ${STORE}`,
  );
  console.log(
    `plain clone+spawn script: ${total(plain.turns).toFixed(2)} s (${each(plain.turns)})`,
  );
  console.log(
    `agentic (enqueue from a client → claim → prep → spawn → finish → commit): ${total(ours.turns).toFixed(2)} s (${each(ours.turns)})`,
  );
  console.log(
    `ratio agentic/plain: ${(total(ours.turns) / total(plain.turns)).toFixed(2)} (target <= 1.25)`,
  );
  const lat = await latency(repo);
  console.log(
    `enqueue (other process) → agent start, ${lat.length} samples: p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms (target p99 <= 200 ms)`,
  );
} finally {
  rmSync(base, { recursive: true, force: true });
  await cluster?.stop();
}
