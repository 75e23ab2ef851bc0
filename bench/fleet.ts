// Store-level claim + finish throughput on PostgreSQL: agentic's own claim (claimReady) and run
// end (endRuns) for N queued `shell` jobs at concurrency C, on one node and on three (separate
// contexts, pools and CoreRoots with distinct node ids, in this one process), against pg-boss
// fetching and completing N no-op jobs at the same concurrency on the same cluster, side by side.
// No clone and no agent process: that path is bench/dispatch.ts.
// Usage: npx tsx bench/fleet.ts [N=10000] [C=8]  (BENCH_PG_URL=postgres://… or a throwaway
// cluster is started with initdb/pg_ctl, as the tests do)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { loadConfigSync } from '../src/config/load-sync.js';
import { createAppContext } from '../src/compose.js';
import { type AppContext } from '../src/context.js';
import { claimReady } from '../src/dispatch/claim.js';
import { endRuns } from '../src/dispatch/finish.js';
import { trackInTransaction } from '../src/lifecycle/index.js';
import { silentLogger } from '../src/lib/logger.js';
import { startPostgres } from '../test/helpers/postgres.js';

const N = Number(process.argv[2] ?? 10_000);
const C = Number(process.argv[3] ?? 8);
const BATCH = 500;

async function freshDatabase(base: string, tag: string): Promise<string> {
  const name = `bench_${tag}_${Date.now()}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return base.replace(/\/[^/]*$/, `/${name}`);
}

/** Runs `worker(i)` for i in [0, C) at once; returns jobs per second once `N` are done. */
async function timed(worker: (i: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  await Promise.all(Array.from({ length: C }, (_, i) => worker(i)));
  return N / ((performance.now() - start) / 1000);
}

async function agentic(base: string, nodes: number): Promise<number> {
  const url = await freshDatabase(base, `agentic${nodes}`);
  const roots: string[] = [];
  const contexts: AppContext[] = [];
  for (let i = 0; i < nodes; i++) {
    const root = mkdtempSync(join(tmpdir(), 'agentic-bench-fleet-'));
    writeFileSync(join(root, 'agents.yaml'), `concurrency:\n  shell: ${C}\n`);
    roots.push(root);
    const config = loadConfigSync(
      {},
      { CORE_WORKSPACE: root, CORE_AGENT_STORE_URL: url, CORE_AGENT_FLEET_NODE_ID: `n${i}` },
    );
    contexts.push(createAppContext({ config, logger: silentLogger() }));
  }
  const first = contexts[0] as AppContext;
  const queuedAt = new Date().toISOString();
  for (let from = 0; from < N; from += BATCH) {
    await trackInTransaction(first, async (track) => {
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
  let done = 0;
  const rate = await timed(async (w) => {
    const ctx = contexts[w % nodes] as AppContext;
    while (done < N) {
      const { claims } = await claimReady(ctx, 1, ctx.config.nodeId);
      const claim = claims[0];
      if (claim === undefined) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const end = { kind: 'exited', exitCode: 0, signal: null, endedAt: new Date() } as const;
      const ref = { runs: claim.record.runs, pid: undefined };
      const { durable } = await endRuns(ctx, [{ name: claim.name, ref, end }]);
      await durable;
      done++;
    }
  });
  for (const ctx of contexts) await ctx.close();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  return rate;
}

async function pgBoss(base: string, nodes: number): Promise<number> {
  const url = await freshDatabase(base, `pgboss${nodes}`);
  const bosses: PgBoss[] = [];
  for (let i = 0; i < nodes; i++) {
    const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
    boss.on('error', () => undefined);
    await boss.start();
    bosses.push(boss);
  }
  const first = bosses[0] as PgBoss;
  await first.createQueue('bench');
  for (let from = 0; from < N; from += BATCH)
    await first.insert(
      Array.from({ length: Math.min(BATCH, N - from) }, () => ({ name: 'bench', data: {} })),
    );
  let done = 0;
  const rate = await timed(async (w) => {
    const boss = bosses[w % nodes] as PgBoss;
    while (done < N) {
      const [job] = await boss.fetch('bench');
      if (job === undefined) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      await boss.complete('bench', job.id);
      done++;
    }
  });
  for (const boss of bosses) await boss.stop({ graceful: false, wait: false });
  return rate;
}

const cluster = process.env['BENCH_PG_URL'] ? undefined : await startPostgres();
const base = process.env['BENCH_PG_URL'] ?? cluster?.url;
if (!base) throw new Error('no PostgreSQL: set BENCH_PG_URL or install initdb/pg_ctl');
try {
  console.log(`claim + finish of ${N} jobs at concurrency ${C}, jobs/s`);
  for (const nodes of [1, 3]) {
    // Turns, so that drift of the shared machine hits both sides alike.
    const ours = await agentic(base, nodes);
    const theirs = await pgBoss(base, nodes);
    console.log(
      `${nodes} node(s): agentic ${ours.toFixed(0)}/s  pg-boss ${theirs.toFixed(0)}/s  ratio ${(ours / theirs).toFixed(2)}`,
    );
  }
} finally {
  await cluster?.stop();
}
