// Status transitions per second through trackWorkspace versus raw single-row SQLite
// transactions on the same database file, measured in one run. Usage: npx tsx bench/track.ts [N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfigSync } from '../src/config/load-sync.js';
import { createAppContext } from '../src/compose.js';
import { trackWorkspace } from '../src/lifecycle/index.js';
import { silentLogger } from '../src/lib/logger.js';
import type { Status } from '../src/workspace/index.js';

const N = Number(process.argv[2] ?? 2000);
const WORKSPACES = 50;
const cycle: Status[] = ['queued', 'running', 'completed'];
const root = mkdtempSync(join(tmpdir(), 'agentic-bench-track-'));

async function viaTrack(): Promise<number> {
  const ctx = createAppContext({
    config: loadConfigSync({}, { CORE_WORKSPACE: root }),
    logger: silentLogger(),
  });
  await ctx.store();
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const w = i % WORKSPACES;
    await trackWorkspace(ctx, `core/bench/task-${w}`, {
      status: cycle[Math.floor(i / WORKSPACES) % cycle.length] ?? 'queued',
      agent: w % 2 ? 'codex:gpt-5' : 'claude',
      repo: 'bench',
      org: 'core',
      task: 'bench',
      branch: 'agent/bench',
      runs: i,
      priority: 0,
      updated_at: '',
    });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await ctx.close();
  return N / seconds;
}

function rawSqlite(): number {
  // Same file, same pragmas as the store: WAL and synchronous=FULL.
  const db = new Database(join(root, 'db.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(
    'CREATE TABLE IF NOT EXISTS raw_bench (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID',
  );
  const put = db.prepare(
    'INSERT INTO raw_bench (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
  );
  const tx = db.transaction((i: number) =>
    put.run(`k${i % WORKSPACES}`, JSON.stringify({ status: 'running', runs: i })),
  );
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) tx.immediate(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  return N / seconds;
}

try {
  const raw = rawSqlite();
  const track = await viaTrack();
  console.log(`transitions: ${N}`);
  console.log(`raw single-row SQLite transactions: ${raw.toFixed(0)}/s`);
  console.log(`trackWorkspace transitions:         ${track.toFixed(0)}/s`);
  console.log(`ratio trackWorkspace/raw: ${(track / raw).toFixed(2)} (target >= 0.3)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
