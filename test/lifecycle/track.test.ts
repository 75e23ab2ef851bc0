import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  readAllRecords,
  readRecord,
  rebuildDerivedGroups,
  restoreRecords,
  trackWorkspace,
} from '../../src/lifecycle/index.js';
import { GROUPS } from '../../src/store/index.js';
import type { AppContext } from '../../src/context.js';
import { engines } from '../helpers/engines.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

describe.each(engines())('trackWorkspace on $name', (engine) => {
  let root: TempRoot;
  let ctx: AppContext;
  const clock = new ManualClock();

  beforeEach(async () => {
    root = tempRoot();
    ctx = testContext(root, {
      clock,
      env: { CORE_AGENT_STORE_URL: (await engine.storeUrl()) ?? '' },
    });
  });
  afterEach(async () => {
    await ctx.close();
    root.cleanup();
  });

  it('keeps the queue group in step: an entry while queued, gone once running', async () => {
    const name = 'core/go-io/task-42';
    await trackWorkspace(
      ctx,
      name,
      sampleRecord({ status: 'queued', priority: 5, queued_at: '2026-01-01T00:00:00.000Z' }),
    );
    const store = await ctx.store();
    expect(await store.get(GROUPS.queue, name)).toEqual({
      repo: 'go-io',
      org: 'core',
      branch: 'agent/fix-the-tests',
      task: 'fix the tests',
      agent: 'codex',
      priority: 5,
      queued_at: '2026-01-01T00:00:00.000Z',
    });
    await trackWorkspace(ctx, name, sampleRecord({ status: 'running', pid: 123 }));
    expect(await store.get(GROUPS.queue, name)).toBeUndefined();
    expect(await store.get(GROUPS.registry, name)).toMatchObject({ status: 'running', pid: 123 });
  });

  it('counts running workspaces per pool in the concurrency snapshot', async () => {
    const store = await ctx.store();
    await trackWorkspace(
      ctx,
      'core/a/task-1',
      sampleRecord({ status: 'running', agent: 'codex:gpt-5.4' }),
    );
    await trackWorkspace(
      ctx,
      'core/a/task-2',
      sampleRecord({ status: 'running', agent: 'codex:gpt-5.4-mini' }),
    );
    await trackWorkspace(
      ctx,
      'core/a/task-3',
      sampleRecord({ status: 'running', agent: 'claude' }),
    );
    expect(await store.get(GROUPS.concurrency, 'codex')).toMatchObject({
      running: 2,
      limit: 2,
      models: { 'gpt-5.4': 1, 'gpt-5.4-mini': 1 },
    });
    await trackWorkspace(ctx, 'core/a/task-2', null);
    expect(await store.get(GROUPS.concurrency, 'codex')).toMatchObject({
      running: 1,
      models: { 'gpt-5.4': 1 },
    });
    await trackWorkspace(
      ctx,
      'core/a/task-1',
      sampleRecord({ status: 'completed', agent: 'codex:gpt-5.4' }),
    );
    expect(await store.get(GROUPS.concurrency, 'codex')).toMatchObject({ running: 0 });
    expect(await store.get(GROUPS.concurrency, 'claude')).toMatchObject({ running: 1 });
    // The `running` group lists exactly the running records, for hydrate.
    expect(await store.entries(GROUPS.running)).toEqual([['core/a/task-3', 'claude']]);
  });

  it('rebuilds the derived groups without dropping work a client queued after the records were read', async () => {
    const store = await ctx.store();
    await trackWorkspace(ctx, 'core/a/task-1', sampleRecord({ status: 'queued' }));
    await trackWorkspace(ctx, 'core/a/task-2', sampleRecord({ status: 'running' }));
    // What a rebuild started with: task-1 still queued, task-2 running, task-3 unknown.
    const records = await readAllRecords(ctx);
    clock.advance(1000);
    // Meanwhile a client queued task-3 and cancelled task-1.
    await trackWorkspace(ctx, 'core/a/task-3', sampleRecord({ status: 'queued' }));
    await trackWorkspace(ctx, 'core/a/task-1', sampleRecord({ status: 'cancelled' }));
    await store.set(GROUPS.running, 'core/a/task-9', 'codex'); // a stale entry
    await store.transaction((tx) => rebuildDerivedGroups(ctx, tx, records));
    expect((await store.entries(GROUPS.queue)).map(([name]) => name)).toEqual(['core/a/task-3']);
    expect(await store.entries(GROUPS.running)).toEqual([['core/a/task-2', 'codex']]);
    expect(await store.get(GROUPS.concurrency, 'codex')).toMatchObject({ running: 1 });
    expect(records.get('core/a/task-1')?.status).toBe('cancelled');
  });

  it('removes registry and queue entries on null', async () => {
    const name = 'core/go-io/task-7';
    await trackWorkspace(ctx, name, sampleRecord({ status: 'queued' }));
    await trackWorkspace(ctx, name, null);
    const store = await ctx.store();
    expect(await store.get(GROUPS.registry, name)).toBeUndefined();
    expect(await store.get(GROUPS.queue, name)).toBeUndefined();
  });

  it('stamps updated_at and mirrors the record to status.json, preserving unknown fields', async () => {
    const name = 'core/go-io/task-8';
    clock.set(new Date('2026-03-04T05:06:07.890Z'));
    await trackWorkspace(ctx, name, sampleRecord({ status: 'queued' }));
    const path = join(root.coreRoot, 'workspace', 'core', 'go-io', 'task-8', 'status.json');
    const onDisk = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(onDisk['updated_at']).toBe('2026-03-04T05:06:07.890Z');
    writeFileSync(path, JSON.stringify({ ...onDisk, future_field: { keep: true } }));
    clock.advance(1000);
    await trackWorkspace(ctx, name, sampleRecord({ status: 'running' }));
    const after = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(after).toMatchObject({
      status: 'running',
      future_field: { keep: true },
      updated_at: '2026-03-04T05:06:08.890Z',
    });
  });

  it('stamps each new version after the one it replaces, within one millisecond or with a clock stepped back', async () => {
    const name = 'core/go-io/task-9';
    clock.set(new Date('2026-03-04T05:06:07.890Z'));
    const first = await trackWorkspace(ctx, name, sampleRecord({ status: 'running', runs: 1 }));
    const second = await trackWorkspace(ctx, name, sampleRecord({ status: 'completed', runs: 1 }));
    expect(first?.updated_at).toBe('2026-03-04T05:06:07.890Z');
    expect(second?.updated_at).toBe('2026-03-04T05:06:07.891Z');
    clock.advance(-60_000);
    const third = await trackWorkspace(ctx, name, sampleRecord({ status: 'queued', runs: 1 }));
    expect(third?.updated_at).toBe('2026-03-04T05:06:07.892Z');
    expect(await readRecord(ctx, name)).toMatchObject({ updated_at: '2026-03-04T05:06:07.892Z' });
  });

  it('restores records with the disk stamp, no mirror, and an uncommitted mark on a terminal version', async () => {
    clock.set(new Date('2026-05-01T00:00:00.000Z'));
    const done = sampleRecord({ status: 'completed', updated_at: '2026-02-02T02:02:02.000Z' });
    const queued = sampleRecord({ status: 'queued', updated_at: '2026-02-03T00:00:00.000Z' });
    const records = new Map([
      ['core/a/task-1', done],
      ['core/a/task-2', queued],
    ]);
    const store = await ctx.store();
    await store.transaction((tx) =>
      restoreRecords(ctx, tx, records, { fenced: false, all: records }),
    );
    expect(await store.get(GROUPS.registry, 'core/a/task-1')).toEqual(done);
    expect(await store.get(GROUPS.registry, 'core/a/task-2')).toEqual(queued);
    expect((await store.entries(GROUPS.uncommitted)).map(([name]) => name)).toEqual([
      'core/a/task-1',
    ]);
    expect((await store.entries(GROUPS.queue)).map(([name]) => name)).toEqual(['core/a/task-2']);
    const mirror = join(root.coreRoot, 'workspace', 'core', 'a', 'task-1', 'status.json');
    expect(existsSync(mirror)).toBe(false);
  });

  it('a fenced restore leaves a record another node took over (higher epoch) as it is', async () => {
    const name = 'core/a/task-1';
    await trackWorkspace(ctx, name, sampleRecord({ status: 'running', node: 'b', epoch: 2 }));
    const store = await ctx.store();
    const taken = await store.get(GROUPS.registry, name);
    const stale = sampleRecord({ status: 'failed', node: 'b', epoch: 1 });
    await store.transaction((tx) =>
      restoreRecords(ctx, tx, new Map([[name, stale]]), { fenced: true }),
    );
    expect(await store.get(GROUPS.registry, name)).toEqual(taken);
    await store.transaction((tx) =>
      restoreRecords(ctx, tx, new Map([[name, stale]]), { fenced: false }),
    );
    expect(await store.get(GROUPS.registry, name)).toEqual(stale);
  });

  it('rejects a hostile workspace name and writes nothing', async () => {
    await expect(trackWorkspace(ctx, 'core/../../etc', sampleRecord())).rejects.toMatchObject({
      code: 'WORKSPACE_NAME_INVALID',
    });
    expect(await (await ctx.store()).count(GROUPS.registry)).toBe(0);
  });
});
