import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trackWorkspace, readAllRecords } from '../../src/lifecycle/index.js';
import { GROUPS } from '../../src/store/index.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

describe('opening the store', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => root.cleanup());

  it('opens lazily and returns the same instance every time', async () => {
    const ctx = testContext(root);
    expect(existsSync(join(root.coreRoot, 'db.sqlite'))).toBe(false);
    const [a, b] = await Promise.all([ctx.store(), ctx.store()]);
    expect(a).toBe(b);
    expect(await ctx.store()).toBe(a);
    expect(existsSync(join(root.coreRoot, 'db.sqlite'))).toBe(true);
    await ctx.close();
  });

  it('closes safely when the store was never opened', async () => {
    const ctx = testContext(root);
    await ctx.close();
    await ctx.close();
    expect(existsSync(join(root.coreRoot, 'db.sqlite'))).toBe(false);
  });

  it('runs degraded on the file engine, with a reason, when db.sqlite is a directory', async () => {
    mkdirSync(join(root.coreRoot, 'db.sqlite'));
    const ctx = testContext(root);
    const store = await ctx.store();
    expect(store.degraded).toBe(true);
    expect(store.engine).toBe('files');
    expect(store.ownsStateFiles).toBe(true);
    expect(store.reason).toMatch(/db\.sqlite/);
    // The state lives in the workspaces' status.json: what is written is read back.
    await store.set(GROUPS.registry, 'core/r/x', sampleRecord({ task: 'kept' }));
    expect(existsSync(join(root.coreRoot, 'workspace', 'core', 'r', 'x', 'status.json'))).toBe(
      true,
    );
    expect(await store.get(GROUPS.registry, 'core/r/x')).toMatchObject({ task: 'kept' });
    expect(await store.transaction(async (tx) => (await tx.count(GROUPS.queue)) + 41)).toBe(42);
    await ctx.close();
  });

  it('runs degraded when the native SQLite module cannot be loaded', async () => {
    const ctx = testContext(root, {
      loadSqlite: () => Promise.reject(new Error('Cannot find module better-sqlite3')),
    });
    const store = await ctx.store();
    expect(store.degraded).toBe(true);
    expect(store.reason).toMatch(/driver unavailable.*better-sqlite3/);
  });

  it('keeps working on status.json files while degraded', async () => {
    mkdirSync(join(root.coreRoot, 'db.sqlite'));
    const ctx = testContext(root);
    await trackWorkspace(ctx, 'core/go-io/task-1', sampleRecord({ status: 'queued' }));
    await trackWorkspace(
      ctx,
      'core/go-io/task-2',
      sampleRecord({ status: 'failed', question: 'why' }),
    );
    const records = await readAllRecords(ctx);
    expect([...records.keys()]).toEqual(['core/go-io/task-1', 'core/go-io/task-2']);
    expect(records.get('core/go-io/task-2')?.question).toBe('why');
  });

  it('quarantines a database file that is not SQLite and rebuilds it from status.json', async () => {
    const first = testContext(root);
    await trackWorkspace(first, 'core/a/task-1', sampleRecord({ status: 'queued', repo: 'a' }));
    await trackWorkspace(
      first,
      'core/b/task-2',
      sampleRecord({ status: 'running', repo: 'b', agent: 'codex:gpt-5' }),
    );
    await first.close();
    for (const f of readdirSync(root.coreRoot).filter((n) => n.startsWith('db.sqlite-'))) {
      writeFileSync(join(root.coreRoot, f), '');
    }
    writeFileSync(
      join(root.coreRoot, 'db.sqlite'),
      'this is not a database, just some text that is long enough '.repeat(100),
    );

    const ctx = testContext(root);
    const store = await ctx.store();
    expect(store.degraded).toBe(false);
    const quarantined = readdirSync(join(root.coreRoot, 'quarantine'));
    expect(quarantined.some((f) => /^db\.sqlite\.\d{8}T\d{6}Z$/.test(f))).toBe(true);
    expect((await store.entries(GROUPS.registry)).map(([k]) => k)).toEqual([
      'core/a/task-1',
      'core/b/task-2',
    ]);
    expect(await store.get(GROUPS.queue, 'core/a/task-1')).toMatchObject({ repo: 'a' });
    expect(await store.get(GROUPS.concurrency, 'codex')).toMatchObject({ running: 1 });
    await ctx.close();
  });

  it('refuses a schema newer than this build', async () => {
    const ctx = testContext(root);
    await ctx.store();
    await ctx.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(root.coreRoot, 'db.sqlite'));
    db.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '999_future', 'x')",
    ).run();
    db.close();
    await expect(testContext(root).store()).rejects.toMatchObject({ code: 'STORE_SCHEMA_TOO_NEW' });
  });
});
