// Hydrate N workspaces (registry in the store, status.json on disk, 1% `running` with dead
// pids) versus a baseline that only reads and JSON-parses every status.json once.
// Usage: npx tsx bench/hydrate.ts [workspaces=50000]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigSync } from '../src/config/load-sync.js';
import { createAppContext } from '../src/compose.js';
import { hydrate } from '../src/dispatch/hydrate.js';
import { silentLogger } from '../src/lib/logger.js';
import { GROUPS } from '../src/store/index.js';
import { discoverWorkspaces, workspaceDir, type StatusRecord } from '../src/workspace/index.js';
import { statusPath, writeStatusFile } from '../src/workspace/status-file.js';

const N = Number(process.argv[2] ?? 50_000);
const root = mkdtempSync(join(tmpdir(), 'agentic-bench-hydrate-'));
const config = loadConfigSync({}, { CORE_WORKSPACE: root });

async function seed(): Promise<void> {
  const ctx = createAppContext({ config, logger: silentLogger() });
  const store = await ctx.store();
  const stamp = new Date('2026-01-01T00:00:00.000Z').getTime();
  const records: Array<[string, StatusRecord]> = [];
  for (let i = 0; i < N; i++) {
    const running = i % Number(process.env['RUN_EVERY'] ?? 100) === 0;
    const name = `core/repo-${i % 200}/task-${i}`;
    const record: StatusRecord = {
      status: running ? 'running' : i % 3 === 0 ? 'failed' : 'completed',
      agent: i % 2 ? 'codex:gpt-5' : 'claude',
      repo: `repo-${i % 200}`,
      org: 'core',
      task: `task number ${i}: make the tests pass and explain what changed`,
      branch: `agent/task-${i}`,
      runs: 1,
      priority: 0,
      updated_at: new Date(stamp + i).toISOString(),
      started_at: new Date(stamp).toISOString(),
      ...(running ? { pid: 4_000_000 + i, pid_start: 'dead' } : {}),
    };
    records.push([name, record]);
    writeStatusFile(workspaceDir(config.workspaceRoot, name), record, { durable: false });
  }
  await store.transaction(async (tx) => {
    for (const [name, record] of records) {
      await tx.set(GROUPS.registry, name, record);
      // As trackWorkspace keeps it.
      if (record.status === 'running') await tx.set(GROUPS.running, name, record.agent);
      // Finished work was committed before the restart, as the runner does.
      if (record.status !== 'running')
        await tx.set(GROUPS.dispatchHistory, name, {
          id: name,
          updated_at: record.updated_at,
          runs: 1,
          synced: true,
        });
    }
  });
  await ctx.close();
}

function baseline(): number {
  const start = performance.now();
  let parsed = 0;
  for (const name of discoverWorkspaces(config.workspaceRoot)) {
    JSON.parse(readFileSync(statusPath(workspaceDir(config.workspaceRoot, name)), 'utf8'));
    parsed++;
  }
  if (parsed !== N) throw new Error(`baseline parsed ${parsed}`);
  return (performance.now() - start) / 1000;
}

async function ours(): Promise<{
  seconds: number;
  ghosts: number;
  phases: Record<string, number>;
}> {
  const ctx = createAppContext({ config, logger: silentLogger() });
  // As Runner.start opens it before it hydrates.
  (await ctx.store()).groupCommit?.();
  const start = performance.now();
  const report = await hydrate(ctx);
  const seconds = (performance.now() - start) / 1000;
  await ctx.close();
  return { seconds, ghosts: report.ghosts.length, phases: report.phases_ms };
}

try {
  await seed();
  const base = baseline();
  const { seconds, ghosts, phases } = await ours();
  console.log(`workspaces: ${N} (${ghosts} running with dead pids reaped)`);
  console.log(`baseline (read + JSON.parse every status.json): ${base.toFixed(2)} s`);
  console.log(`hydrate: ${seconds.toFixed(2)} s`);
  console.log(
    `  by step (ms): ${Object.entries(phases)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  console.log(`ratio hydrate/baseline: ${(seconds / base).toFixed(2)} (target <= 1.0)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
