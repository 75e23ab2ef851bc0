import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trackWorkspace } from '../../src/lifecycle/index.js';
import { json, runCli } from '../helpers/cli.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

const N = 300;

describe('a damaged state store', () => {
  let root: TempRoot;
  let db: string;
  beforeEach(async () => {
    root = tempRoot();
    db = join(root.coreRoot, 'db.sqlite');
    const seed = testContext(root);
    for (let i = 0; i < N; i++)
      await trackWorkspace(
        seed,
        `core/go-io/task-${i}`,
        sampleRecord({ status: 'blocked', question: `question ${i} ${'x'.repeat(400)}` }),
      );
    await seed.close();
    // A process killed mid-work leaves a WAL beside the database: copy both while one is open.
    const more = testContext(root);
    await trackWorkspace(more, 'core/go-io/task-extra', sampleRecord({ status: 'queued' }));
    const saved = { db: readFileSync(db), wal: readFileSync(`${db}-wal`) };
    await more.close();
    writeFileSync(db, saved.db);
    writeFileSync(`${db}-wal`, saved.wal);
    rmSync(`${db}-shm`, { force: true });
    // Then cut the database in half, as a crash on a full disk might.
    truncateSync(db, Math.floor(saved.db.length / 2));
  }, 120_000);
  afterEach(() => root.cleanup());

  const quarantine = (): string[] => readdirSync(join(root.coreRoot, 'quarantine')).sort();

  it('is found at the first failing query, moved aside with its -wal and -shm, rebuilt, and the command still answers', async () => {
    const res = await runCli(['status', '--json'], root.env);
    expect(res.code, res.stderr).toBe(0);
    // Rebuilt from the status.json files: every workspace, the one only in the WAL included.
    expect(json<{ counts: { total: number; blocked: number } }>(res).counts).toMatchObject({
      total: N + 1,
      blocked: N,
    });
    const moved = quarantine();
    const base = moved.find((f) => /^db\.sqlite\.\d/.test(f) && !f.includes('-'));
    expect(base).toBeDefined();
    expect(moved).toContain(`${base}-wal`);
    // The next command finds a healthy store.
    const again = await runCli(['status', '--json'], root.env);
    expect(json<{ counts: { total: number } }>(again).counts.total).toBe(N + 1);
  });

  it('is reported by doctor, which runs quick_check and rebuilds the store', async () => {
    const res = await runCli(['doctor', '--json'], root.env);
    const report = json<{ store: { integrity: string; rebuilt: boolean; degraded: boolean } }>(res);
    expect(report.store.integrity).not.toBe('ok');
    expect(report.store.rebuilt).toBe(true);
    expect(res.code).toBe(0);
    const healthy = json<{ store: { integrity: string } }>(
      await runCli(['doctor', '--json'], root.env),
    );
    expect(healthy.store.integrity).toBe('ok');
    const status = await runCli(['status', '--json'], root.env);
    expect(json<{ counts: { total: number } }>(status).counts.total).toBe(N + 1);
  });
});
