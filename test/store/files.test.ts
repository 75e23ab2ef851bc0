import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runtimePaths } from '../../src/config/index.js';
import { loadRuntime } from '../../src/dispatch/runtime-state.js';
import { silentLogger } from '../../src/lib/logger.js';
import {
  openFileStore,
  type DurableStatusWriter,
  type FileStoreOptions,
} from '../../src/store/files/engine.js';
import { GROUPS, type StateStore } from '../../src/store/index.js';
import { workspaceDir, type StatusRecord } from '../../src/workspace/index.js';
import { statusPath, writeStatusFile, writeStatusFiles } from '../../src/workspace/status-file.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

describe('the file store (degraded mode)', () => {
  let root: TempRoot;
  let workspaceRoot: string;
  let store: StateStore;
  const open = (options: Partial<FileStoreOptions> = {}): StateStore =>
    openFileStore({
      coreRoot: root.coreRoot,
      workspaceRoot,
      logger: silentLogger(),
      location: join(root.coreRoot, 'db.sqlite'),
      reason: 'test',
      limitOf: () => 4,
      ...options,
    });
  const fileOf = (name: string): StatusRecord =>
    JSON.parse(readFileSync(statusPath(workspaceDir(workspaceRoot, name)), 'utf8')) as StatusRecord;

  beforeEach(() => {
    root = tempRoot();
    workspaceRoot = join(root.coreRoot, 'workspace');
    store = open();
  });
  afterEach(async () => {
    await store.close();
    root.cleanup();
  });

  it('keeps the registry in status.json files and pages it in byte order', async () => {
    for (const leaf of ['b', 'a', 'B', 'c'])
      await store.set(GROUPS.registry, `core/r/${leaf}`, sampleRecord({ task: leaf }));
    expect(fileOf('core/r/a').task).toBe('a');
    expect(existsSync(join(root.coreRoot, 'db.sqlite'))).toBe(false);
    // A second store (another process) reads what the first wrote.
    const other = open();
    expect((await other.entries(GROUPS.registry)).map(([k]) => k)).toEqual([
      'core/r/B',
      'core/r/a',
      'core/r/b',
      'core/r/c',
    ]);
    expect(
      (await other.entries(GROUPS.registry, { limit: 2, after: 'core/r/a' })).map(([k]) => k),
    ).toEqual(['core/r/b', 'core/r/c']);
    expect(await other.count(GROUPS.registry)).toBe(4);
    await other.delete(GROUPS.registry, 'core/r/a');
    expect(existsSync(statusPath(workspaceDir(workspaceRoot, 'core/r/a')))).toBe(false);
    expect(await store.get(GROUPS.registry, 'core/r/a')).toBeUndefined();
  });

  it('refuses a registry value that is not a status record', async () => {
    await expect(
      store.set(GROUPS.registry, 'core/r/x', { status: 'queued' }),
    ).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await store.count(GROUPS.registry)).toBe(0);
  });

  it('derives queue, running, concurrency and uncommitted from the records, ignoring writes to them', async () => {
    await store.transaction(async (tx) => {
      await tx.set(GROUPS.registry, 'core/r/q', sampleRecord({ status: 'queued', priority: 2 }));
      await tx.set(
        GROUPS.registry,
        'core/r/run',
        sampleRecord({ status: 'running', agent: 'codex:o3' }),
      );
      await tx.set(GROUPS.registry, 'core/r/done', sampleRecord({ status: 'completed', runs: 1 }));
      await tx.set(GROUPS.queue, 'core/r/ghost', { agent: 'codex' });
      await tx.delete(GROUPS.running, 'core/r/run');
      // The transaction sees its own writes in the derived groups.
      expect((await tx.entries(GROUPS.queue)).map(([k]) => k)).toEqual(['core/r/q']);
    });
    expect(await store.get(GROUPS.queue, 'core/r/q')).toMatchObject({
      priority: 2,
      agent: 'codex',
    });
    expect(await store.entries(GROUPS.running)).toEqual([['core/r/run', 'codex:o3']]);
    expect(await store.get(GROUPS.concurrency, 'codex')).toMatchObject({
      running: 1,
      limit: 4,
      models: { o3: 1 },
    });
    expect(await store.entries(GROUPS.uncommitted)).toEqual([
      ['core/r/done', '2026-01-01T00:00:00.000Z#1'],
    ]);
    // The commit marker for that version takes it out of `uncommitted`.
    mkdirSync(join(workspaceDir(workspaceRoot, 'core/r/done'), '.meta'));
    writeFileSync(
      join(workspaceDir(workspaceRoot, 'core/r/done'), '.meta', 'commit.json'),
      JSON.stringify({
        workspace: 'core/r/done',
        updated_at: '2026-01-01T00:00:00.000Z',
        runs: 1,
        committed_at: 'x',
      }),
      { flag: 'w' },
    );
    expect(await store.count(GROUPS.uncommitted)).toBe(0);
  });

  it('keeps the runtime group in dispatch.json, as loadRuntime reads it, and removes the file when empty', async () => {
    const paths = runtimePaths(root.coreRoot);
    await store.set(GROUPS.runtime, 'backoff', { codex: '2026-01-01T01:00:00.000Z' });
    await store.set(GROUPS.runtime, 'fail_count', { shell: 2 });
    expect(JSON.parse(readFileSync(paths.dispatch, 'utf8'))).toEqual({
      backoff: { codex: '2026-01-01T01:00:00.000Z' },
      fail_count: { shell: 2 },
    });
    const loaded = await store.transaction((tx) => loadRuntime(tx, root.coreRoot));
    expect(loaded.backoff).toEqual({ codex: '2026-01-01T01:00:00.000Z' });
    expect(loaded.fail_count).toEqual({ shell: 2 });
    await store.transaction(async (tx) => {
      await tx.delete(GROUPS.runtime, 'backoff');
      await tx.delete(GROUPS.runtime, 'fail_count');
    });
    expect(existsSync(paths.dispatch)).toBe(false);
  });

  it('keeps the frozen flag as the runtime/frozen file', async () => {
    const paths = runtimePaths(root.coreRoot);
    await store.set(GROUPS.runner, 'frozen', true);
    expect(existsSync(paths.frozen)).toBe(true);
    expect(await open().get(GROUPS.runner, 'frozen')).toBe(true);
    await store.delete(GROUPS.runner, 'frozen');
    expect(existsSync(paths.frozen)).toBe(false);
    expect(await store.get(GROUPS.runner, 'frozen')).toBeUndefined();
  });

  it('writes nothing when the transaction throws', async () => {
    await store.set(GROUPS.registry, 'core/r/a', sampleRecord({ task: 'before' }));
    await expect(
      store.transaction(async (tx) => {
        await tx.set(GROUPS.registry, 'core/r/a', sampleRecord({ task: 'after' }));
        await tx.set(GROUPS.registry, 'core/r/b', sampleRecord());
        await tx.set(GROUPS.runtime, 'backoff', { codex: 'x' });
        await tx.set(GROUPS.runner, 'frozen', true);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(fileOf('core/r/a').task).toBe('before');
    expect(existsSync(statusPath(workspaceDir(workspaceRoot, 'core/r/b')))).toBe(false);
    expect(existsSync(runtimePaths(root.coreRoot).dispatch)).toBe(false);
    expect(existsSync(runtimePaths(root.coreRoot).frozen)).toBe(false);
  });

  it('resolves a transaction only once its files were written durably, each once, and rewrites no equal record', async () => {
    const written: string[] = [];
    let resolved = false;
    let resolvedBeforeWrite: boolean | undefined;
    const writeFiles: DurableStatusWriter = async (files) => {
      // A slow disk: the transaction must still be waiting when the write ends.
      await new Promise((r) => setTimeout(r, 20));
      await writeStatusFiles(files, { durable: true });
      written.push(...files.map(([dir]) => dir));
      resolvedBeforeWrite = resolved;
    };
    const gated = open({ writeFiles });
    await gated.transaction(async (t) => {
      await t.set(GROUPS.registry, 'core/r/a', sampleRecord({ task: 'one' }));
      await t.set(GROUPS.registry, 'core/r/a', sampleRecord({ task: 'two' }));
      await t.set(GROUPS.registry, 'core/r/b', sampleRecord());
    });
    resolved = true;
    expect(resolvedBeforeWrite).toBe(false);
    expect(written).toEqual([
      workspaceDir(workspaceRoot, 'core/r/a'),
      workspaceDir(workspaceRoot, 'core/r/b'),
    ]);
    expect(fileOf('core/r/a').task).toBe('two');
    // Restoring what is already on disk (hydrate does, for every record) costs no write.
    await gated.transaction(async (t) => {
      await t.set(GROUPS.registry, 'core/r/a', fileOf('core/r/a'));
    });
    expect(written).toHaveLength(2);
  });

  it('sees another writer’s status.json even when it carries the same mtime mark', async () => {
    const name = 'core/r/a';
    const record = sampleRecord({ status: 'queued' });
    await store.set(GROUPS.registry, name, record);
    expect(await store.get(GROUPS.registry, name)).toMatchObject({ status: 'queued' });
    // Same updated_at, so the same mtime: only the inode, ctime and size tell.
    writeStatusFile(
      workspaceDir(workspaceRoot, name),
      { ...record, status: 'running' },
      { durable: false },
    );
    expect(await store.get(GROUPS.registry, name)).toMatchObject({ status: 'running' });
    expect(await store.count(GROUPS.queue)).toBe(0);
  });

  it('breaks a state lock left by a process that died', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    mkdirSync(join(root.coreRoot, 'runtime'));
    writeFileSync(
      runtimePaths(root.coreRoot).stateLock,
      JSON.stringify({ pid: dead, host: hostname(), token: 'dead-token' }),
    );
    await store.set(GROUPS.runner, 'frozen', true);
    expect(await store.get(GROUPS.runner, 'frozen')).toBe(true);
    expect(existsSync(runtimePaths(root.coreRoot).stateLock)).toBe(false);
  });
});
