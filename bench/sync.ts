// Push throughput of the sync client against the real hub (src/hub, SQLite, own process) versus a
// plain fetch loop POSTing the same batches to the same hub in the same run.
// Usage: npx tsx bench/sync.ts [records=100000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { createContext } from '../src/context.js';
import { openHubStorage } from '../src/hub/index.js';
import { silentLogger } from '../src/lib/logger.js';
import { GROUPS } from '../src/store/index.js';
import { createSyncService } from '../src/sync/index.js';
import { fingerprintOf } from '../src/workspace/index.js';
import { startHubChild } from './hub-child.js';

const N = Number(process.argv[2] ?? 100_000);
const BATCH = 500;
const dir = mkdtempSync(join(tmpdir(), 'agentic-bench-sync-'));
const hubDb = join(dir, 'hub.sqlite');

function record(i: number): Record<string, unknown> {
  const name = `core/repo-${i % 97}/task-${i}`;
  return {
    workspace: name,
    repo: `repo-${i % 97}`,
    org: 'core',
    task: `benchmark task number ${i}: make the flaky test deterministic`,
    agent: i % 3 ? 'codex:gpt-5.4' : 'claude',
    branch: `agent/task-${i}`,
    status: i % 5 ? 'completed' : 'failed',
    question: '',
    issue: i,
    runs: 1 + (i % 3),
    process_id: `p-${i}`,
    pr_url: '',
    started_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + i * 1000).toISOString(),
    updated_at: new Date(Date.UTC(2026, 0, 1, 0, 10, 0) + i * 1000).toISOString(),
    committed_at: new Date(Date.UTC(2026, 0, 1, 0, 10, 1) + i * 1000).toISOString(),
    id: name,
    synced: false,
  };
}

/** Baseline: the same records, batched the same way, POSTed sequentially with plain fetch. */
async function rawLoop(url: string, token: string): Promise<number> {
  const bodies: string[] = [];
  for (let i = 0; i < N; i += BATCH) {
    const dispatches = [];
    for (let j = i; j < Math.min(i + BATCH, N); j++) {
      const { synced: _synced, ...r } = record(j);
      dispatches.push({
        ...r,
        fingerprint: fingerprintOf(r as { updated_at: string; runs: number }),
      });
    }
    bodies.push(JSON.stringify({ agent_id: 'raw', dispatches }));
  }
  const start = process.hrtime.bigint();
  for (const [k, body] of bodies.entries()) {
    const res = await fetch(`${url}/v1/agent/sync`, {
      method: 'POST',
      body,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': `raw-${k}`,
      },
    });
    await res.text();
    if (!res.ok) throw new Error(`raw POST failed: HTTP ${res.status}`);
  }
  return N / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function viaClient(url: string, token: string): Promise<{ rate: number; pushed: number }> {
  const root = join(dir, 'node');
  const ctx = createContext({
    config: loadConfig(
      {},
      { CORE_WORKSPACE: root, CORE_API_URL: url, CORE_AGENT_API_KEY: token, AGENT_NAME: 'bench' },
    ),
    logger: silentLogger(),
  });
  const store = await ctx.store();
  await store.transaction(async (tx) => {
    for (let i = 0; i < N; i++)
      await tx.set(GROUPS.dispatchHistory, String(record(i)['id']), record(i));
  });
  const sync = await createSyncService(ctx);
  const start = process.hrtime.bigint();
  const report = await sync.push();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (report.queued !== 0 || report.count !== N)
    throw new Error(`push incomplete: ${JSON.stringify(report)}`);
  await ctx.close();
  return { rate: N / seconds, pushed: report.count };
}

const hub = await startHubChild(hubDb, ['raw', 'bench']);
try {
  const raw = await rawLoop(hub.url, hub.tokens['raw'] ?? '');
  const client = await viaClient(hub.url, hub.tokens['bench'] ?? '');
  await hub.stop();
  const storage = await openHubStorage(hubDb, { logger: silentLogger(), now: () => new Date() });
  const stored = await storage.versionCount();
  await storage.close();
  console.log(`records: ${N} in batches of ${BATCH} (real hub, SQLite, separate process)`);
  console.log(`raw fetch loop POST:        ${raw.toFixed(0)} records/s`);
  console.log(`sync push (queue+ledger):   ${client.rate.toFixed(0)} records/s`);
  console.log(`ratio push/raw: ${(client.rate / raw).toFixed(2)} (target >= 0.5)`);
  console.log(`hub stored versions: ${stored} (expected ${2 * N})`);
} finally {
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
}
