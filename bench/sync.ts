// Push throughput of the sync client against the real hub (src/hub, SQLite, own process) versus a
// plain fetch loop POSTing the same batches to the same hub in the same run.
// Usage: npx tsx bench/sync.ts [records=100000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigSync } from '../src/config/load-sync.js';
import { createAppContext } from '../src/compose.js';
import { type AppContext } from '../src/context.js';
import { openHubStorage } from '../src/hub/index.js';
import { silentLogger } from '../src/lib/logger.js';
import { GROUPS } from '../src/store/index.js';
import { createSyncService, type SyncService } from '../src/sync/index.js';
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

/** The push bodies a batch of records makes: `id` + `fingerprint` on each record, no `synced`. */
function bodies(agent: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i += BATCH) {
    const dispatches = [];
    for (let j = i; j < Math.min(i + BATCH, to); j++) {
      const { synced: _synced, ...r } = record(j);
      dispatches.push({
        ...r,
        fingerprint: fingerprintOf(r as { updated_at: string; runs: number }),
      });
    }
    out.push(JSON.stringify({ agent_id: agent, dispatches }));
  }
  return out;
}

/** Baseline: the same batches POSTed sequentially with plain fetch; returns seconds. */
async function rawLoop(url: string, token: string, from: number, to: number): Promise<number> {
  const batch = bodies('raw', from, to);
  const start = process.hrtime.bigint();
  for (const [k, body] of batch.entries()) {
    const res = await fetch(`${url}/v1/agent/sync`, {
      method: 'POST',
      body,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': `raw-${from}-${k}`,
      },
    });
    await res.text();
    if (!res.ok) throw new Error(`raw POST failed: HTTP ${res.status}`);
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** The client: records committed to dispatch_history (not timed), then `push()` (timed); returns seconds. */
async function viaClient(
  sync: SyncService,
  ctx: AppContext,
  from: number,
  to: number,
): Promise<number> {
  const store = await ctx.store();
  await store.transaction(async (tx) => {
    for (let i = from; i < to; i++)
      await tx.set(GROUPS.dispatchHistory, String(record(i)['id']), record(i));
  });
  const start = process.hrtime.bigint();
  const report = await sync.push();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (report.queued !== 0 || report.count !== to - from)
    throw new Error(`push incomplete: ${JSON.stringify(report)}`);
  return seconds;
}

const hub = await startHubChild(hubDb, ['raw', 'bench']);
try {
  const ctx = createAppContext({
    config: loadConfigSync(
      {},
      {
        CORE_WORKSPACE: join(dir, 'node'),
        CORE_API_URL: hub.url,
        CORE_AGENT_API_KEY: hub.tokens['bench'] ?? '',
        AGENT_NAME: 'bench',
      },
    ),
    logger: silentLogger(),
  });
  const sync = await createSyncService(ctx);
  // The baseline runs half before and half after the client, so load from other processes
  // drifting over the run hits both sides alike.
  const half = Math.floor(N / 2 / BATCH) * BATCH;
  let rawSeconds = await rawLoop(hub.url, hub.tokens['raw'] ?? '', 0, half);
  const clientSeconds = await viaClient(sync, ctx, 0, N);
  rawSeconds += await rawLoop(hub.url, hub.tokens['raw'] ?? '', half, N);
  await ctx.close();
  await hub.stop();
  const storage = await openHubStorage(hubDb, { logger: silentLogger(), now: () => new Date() });
  const stored = await storage.versionCount();
  await storage.close();
  const raw = N / rawSeconds;
  const client = N / clientSeconds;
  console.log(`records: ${N} in batches of ${BATCH} (real hub, SQLite, own process)`);
  console.log(`raw fetch loop POST:        ${raw.toFixed(0)} records/s`);
  console.log(`sync push (queue+ledger):   ${client.toFixed(0)} records/s`);
  console.log(`ratio push/raw: ${(client / raw).toFixed(2)} (target >= 0.5)`);
  console.log(`hub stored versions: ${stored} (expected ${2 * N})`);
} finally {
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
}
