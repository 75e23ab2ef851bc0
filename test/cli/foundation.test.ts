import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trackWorkspace } from '../../src/lifecycle/index.js';
import { loadMigrations } from '../../src/store/migrations.js';
import { json, runCli } from '../helpers/cli.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

describe('agentic CLI: doctor, status, workspace list', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => root.cleanup());

  it('doctor --json reports a healthy SQLite store on a fresh root', async () => {
    const res = await runCli(['doctor', '--json'], root.env);
    expect(res.code).toBe(0);
    expect(json(res)).toMatchObject({
      core_root: root.coreRoot,
      workspace_root: join(root.coreRoot, 'workspace'),
      config_path: null,
      store: {
        engine: 'sqlite',
        path: join(root.coreRoot, 'db.sqlite'),
        // The newest migration this build ships, applied to the fresh database.
        schema_version: loadMigrations('sqlite').at(-1)?.version,
        degraded: false,
        reason: null,
      },
    });
  });

  it('reports degraded with a reason when db.sqlite is a directory, and status still works', async () => {
    const ctx = testContext(root);
    await trackWorkspace(
      ctx,
      'core/go-io/task-1',
      sampleRecord({ status: 'blocked', question: 'which API?' }),
    );
    await ctx.close();
    const { rmSync } = await import('node:fs');
    rmSync(join(root.coreRoot, 'db.sqlite'), { force: true });
    rmSync(join(root.coreRoot, 'db.sqlite-wal'), { force: true });
    rmSync(join(root.coreRoot, 'db.sqlite-shm'), { force: true });
    mkdirSync(join(root.coreRoot, 'db.sqlite'));

    const doctor = json<{ store: { degraded: boolean; reason: string } }>(
      await runCli(['doctor', '--json'], root.env),
    );
    expect(doctor.store.degraded).toBe(true);
    expect(doctor.store.reason).toMatch(/db\.sqlite/);

    const status = await runCli(['status', '--json'], root.env);
    expect(status.code).toBe(0);
    expect(status.stderr).toMatch(/degraded/);
    expect(json(status)).toMatchObject({
      counts: { total: 1, blocked: 1 },
      workspaces: [{ name: 'core/go-io/task-1', status: 'blocked', question: 'which API?' }],
    });
  });

  it('status --json prints counts and filtered rows', async () => {
    const ctx = testContext(root);
    await trackWorkspace(ctx, 'core/a/task-1', sampleRecord({ status: 'queued', repo: 'a' }));
    await trackWorkspace(
      ctx,
      'core/a/task-2',
      sampleRecord({ status: 'running', repo: 'a', pid: 4242, runs: 1 }),
    );
    await trackWorkspace(
      ctx,
      'core/b/task-3',
      sampleRecord({ status: 'failed', repo: 'b', question: 'boom' }),
    );
    await ctx.close();

    const all = json<{
      counts: Record<string, number>;
      workspaces: Array<Record<string, unknown>>;
    }>(await runCli(['status', '--json'], root.env));
    expect(all.counts).toEqual({
      total: 3,
      queued: 1,
      running: 1,
      completed: 0,
      failed: 1,
      blocked: 0,
      merged: 0,
      cancelled: 0,
    });
    expect(all.workspaces.map((w) => w['name'])).toEqual([
      'core/a/task-1',
      'core/a/task-2',
      'core/b/task-3',
    ]);
    expect(all.workspaces[1]).toMatchObject({
      status: 'running',
      pid: 4242,
      runs: 1,
      agent: 'codex',
      repo: 'a',
      org: 'core',
    });

    const failed = json<{ workspaces: unknown[] }>(
      await runCli(['status', '--status', 'failed', '--json'], root.env),
    );
    expect(failed.workspaces).toHaveLength(1);
    const one = json<{ workspaces: unknown[] }>(
      await runCli(['status', '--workspace', 'core/a/task-2', '--json'], root.env),
    );
    expect(one.workspaces).toEqual([expect.objectContaining({ name: 'core/a/task-2' })]);
    const limited = json<{ workspaces: unknown[] }>(
      await runCli(['status', '--limit', '2', '--json'], root.env),
    );
    expect(limited.workspaces).toHaveLength(2);

    const human = await runCli(['status'], root.env);
    expect(human.stdout).toMatch(/3 workspaces: 1 queued, 1 running/);
    expect(human.stdout).toMatch(/core\/b\/task-3\s+failed\s+codex\s+0\s+\S+\s+boom/);

    const list = json<{ workspaces: Array<{ name: string; path: string }> }>(
      await runCli(['workspace', 'list', '--json'], root.env),
    );
    expect(list.workspaces.map((w) => w.name)).toEqual([
      'core/a/task-1',
      'core/a/task-2',
      'core/b/task-3',
    ]);
    expect(list.workspaces[0]?.path).toBe(join(root.coreRoot, 'workspace', 'core', 'a', 'task-1'));
  });

  it.each([
    [['status', '--limit', 'zero']],
    [['status', '--status', 'done']],
    [['status', '--workspace', '../../etc', '--json']],
    [['frobnicate']],
    [['status', '--bogus']],
  ])('exits 2 on bad input: %j', async (args) => {
    const res = await runCli(args, root.env);
    expect(res.code).toBe(2);
    expect(res.stderr).not.toBe('');
  });

  it('exits 2 with the field when agents.yaml is invalid', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root.coreRoot, 'agents.yaml'), 'concurency:\n  codex: 2\n');
    const res = await runCli(['status', '--json'], root.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /concurency: unknown key "concurency"; did you mean "concurrency"\?/,
    );
    expect(json(res)).toMatchObject({ error: { code: 'CONFIG_INVALID', field: 'concurency' } });
  });

  it('prints its version and per-verb help', async () => {
    const version = await runCli(['--version'], root.env);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await runCli(['help', 'status'], root.env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--workspace <name>/);
  });
});
