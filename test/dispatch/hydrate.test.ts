import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { Runner } from '../../src/dispatch/runner.js';
import { hydrate, MISSING_QUESTION } from '../../src/dispatch/hydrate.js';
import { readRecord, trackWorkspace } from '../../src/lifecycle/index.js';
import { GROUPS } from '../../src/store/index.js';
import { writeStatusFile } from '../../src/workspace/status-file.js';
import { processStartTime } from '../../src/lib/proc.js';
import { testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { makeSourceRepo, waitForGate, waitUntil } from '../helpers/dispatch.js';
import { sampleRecord } from '../helpers/records.js';

const GHOST = 'agent process died while the dispatcher was down';

describe.each(engines())('hydrate on runner start on $name', (engine) => {
  let root: TempRoot;
  let ctx: AppContext;
  /** The node whose hydrate judges the fixtures: in a fleet, a node reaps only its own runs. */
  let node: string;
  beforeEach(async () => {
    root = await tempRootOn(engine);
    ctx = testContext(root);
    node = ctx.config.nodeId;
  });
  afterEach(async () => {
    await ctx.close();
    root.cleanup();
  });

  const ws = (name: string): string => join(root.coreRoot, 'workspace', name);
  const onDisk = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(ws(name), 'status.json'), 'utf8')) as Record<string, unknown>;

  it('fails a registry entry restored from the store whose pid is dead', async () => {
    const name = 'core/go-io/task-1';
    await trackWorkspace(
      ctx,
      name,
      sampleRecord({
        status: 'running',
        node,
        pid: 99999,
        pid_start: '1',
        runs: 1,
        started_at: '2026-01-01T00:00:00.000Z',
      }),
    );
    const fresh = testContext(root);
    const report = await hydrate(fresh);
    expect(report.ghosts).toEqual([name]);
    expect(await readRecord(fresh, name)).toMatchObject({
      status: 'failed',
      question: GHOST,
      runs: 1,
    });
    expect(onDisk(name)).toMatchObject({ status: 'failed', question: GHOST });
    expect(onDisk(name)['pid']).toBeUndefined();
    await fresh.close();
  });

  it('reaps a running registry entry that the running group does not list (a store from before it)', async () => {
    const listed = 'core/go-io/task-listed';
    const unlisted = 'core/go-io/task-unlisted';
    for (const name of [listed, unlisted])
      await trackWorkspace(
        ctx,
        name,
        sampleRecord({ node, status: 'running', pid: 99999, pid_start: '1', runs: 1 }),
      );
    await (await ctx.store()).delete(GROUPS.running, unlisted);
    const fresh = testContext(root);
    const report = await hydrate(fresh);
    expect(report.ghosts.sort()).toEqual([listed, unlisted]);
    for (const name of [listed, unlisted]) {
      expect(await readRecord(fresh, name)).toMatchObject({ status: 'failed', question: GHOST });
      expect(onDisk(name)).toMatchObject({ status: 'failed', question: GHOST });
    }
    expect(await (await fresh.store()).entries(GROUPS.running)).toEqual([]);
    await fresh.close();
  });

  it('reads a registry of several pages whole, comparing every mirror', async () => {
    const store = await ctx.store();
    const queued: string[] = [];
    const vanished: string[] = [];
    const stale: string[] = [];
    await store.transaction(async (tx) => {
      for (let i = 0; i < 2_500; i++) {
        const name = `core/repo-${i % 7}/task-${i}`;
        const record = sampleRecord({
          node,
          status: i % 100 === 0 ? 'queued' : 'completed',
          queued_at: '2026-01-01T00:00:00.000Z',
          updated_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(),
        });
        await tx.set(GROUPS.registry, name, record);
        if (i % 100 === 0) queued.push(name);
        // Every 250th (offset 7) has no directory: only the registry knows it.
        if (i % 250 === 7) vanished.push(name);
        // Every 500th (offset 3) has a mirror older than the registry: the registry wins.
        else if (i % 500 === 3) {
          stale.push(name);
          writeStatusFile(
            ws(name),
            { ...record, task: 'old', updated_at: '2025-01-01T00:00:00.000Z' },
            {
              durable: false,
            },
          );
        } else writeStatusFile(ws(name), record, { durable: false });
      }
    });
    const fresh = testContext(root);
    const report = await hydrate(fresh);
    expect(report.workspaces).toBe(2_500);
    expect(report.missing.sort()).toEqual(vanished.sort());
    for (const name of stale) expect((await readRecord(fresh, name))?.task).toBe('fix the tests');
    const freshStore = await fresh.store();
    expect((await freshStore.entries(GROUPS.queue)).map(([name]) => name).sort()).toEqual(
      queued.sort(),
    );
    await fresh.close();
    // 2,500 records written and merged (on PostgreSQL one round trip each): over 20 s under load.
  }, 90_000);

  // Disk-only again: a fleet node judges the runs the shared registry gives it, not stray files.
  if (engine.name === 'sqlite')
    it('fails a status.json claiming running with pid 99999, in the registry AND on disk', async () => {
      const name = 'core/go-io/task-2';
      mkdirSync(ws(name), { recursive: true });
      writeFileSync(
        join(ws(name), 'status.json'),
        JSON.stringify(sampleRecord({ node, status: 'running', pid: 99999, runs: 1 })),
      );
      await hydrate(ctx);
      const store = await ctx.store();
      expect(await store.get(GROUPS.registry, name)).toMatchObject({
        status: 'failed',
        question: GHOST,
      });
      expect(onDisk(name)).toMatchObject({ status: 'failed', question: GHOST });
      expect(
        readFileSync(join(ws(name), '.meta', 'journal.jsonl'), 'utf8')
          .trim()
          .split('\n'),
      ).toHaveLength(1);
    });

  it('detects pid reuse: a live pid with another start time is a ghost', async () => {
    const name = 'core/go-io/task-3';
    // This test process is alive, but it is not the agent that was recorded.
    await trackWorkspace(
      ctx,
      name,
      sampleRecord({
        node,
        status: 'running',
        pid: process.pid,
        pid_start: 'not-the-same',
        runs: 1,
      }),
    );
    const report = await hydrate(ctx);
    expect(report.ghosts).toEqual([name]);
    expect(report.reattach).toEqual([]);
    expect(await readRecord(ctx, name)).toMatchObject({ status: 'failed', question: GHOST });
  });

  it('re-attaches a live agent with the same start time', async () => {
    const name = 'core/go-io/task-4';
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      const pid = child.pid ?? -1;
      await trackWorkspace(
        ctx,
        name,
        sampleRecord({ node, status: 'running', pid, pid_start: processStartTime(pid), runs: 1 }),
      );
      const report = await hydrate(ctx);
      expect(report.reattach.map((r) => r.name)).toEqual([name]);
      expect(await readRecord(ctx, name)).toMatchObject({ status: 'running', pid });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('finishes an agent that ended while no runner was up from its exit.json', async () => {
    const ok = 'core/go-io/task-5';
    const bad = 'core/go-io/task-6';
    const blocked = 'core/go-io/task-7';
    for (const [name, code] of [
      [ok, 0],
      [bad, 9],
      [blocked, 0],
    ] as const) {
      await trackWorkspace(
        ctx,
        name,
        sampleRecord({
          status: 'running',
          node,
          pid: 99998,
          pid_start: 'x',
          runs: 2,
          started_at: '2026-01-01T00:00:00.000Z',
        }),
      );
      mkdirSync(join(ws(name), '.meta'), { recursive: true });
      writeFileSync(
        join(ws(name), '.meta', 'exit.json'),
        JSON.stringify({ exit_code: code, signal: null, ended_at: '2026-01-01T00:05:00Z' }),
      );
    }
    mkdirSync(join(ws(blocked), 'repo'), { recursive: true });
    writeFileSync(join(ws(blocked), 'repo', 'BLOCKED.md'), 'Need credentials for the staging DB');
    const report = await hydrate(ctx);
    expect(report.finished.sort()).toEqual([ok, bad, blocked].sort());
    expect(await readRecord(ctx, ok)).toMatchObject({ status: 'completed', exit_code: 0, runs: 2 });
    expect(await readRecord(ctx, bad)).toMatchObject({
      status: 'failed',
      question: 'agent exited with code 9',
    });
    expect(await readRecord(ctx, blocked)).toMatchObject({
      status: 'blocked',
      question: 'Need credentials for the staging DB',
    });
  });

  it('puts a claimed but never started record back in the queue', async () => {
    const name = 'core/go-io/task-8';
    await trackWorkspace(ctx, name, sampleRecord({ node, status: 'running', runs: 0 }));
    const report = await hydrate(ctx);
    expect(report.requeued).toEqual([name]);
    expect(await (await ctx.store()).get(GROUPS.queue, name)).toMatchObject({ agent: 'codex' });
  });

  it('adopts an agent whose runner died between spawn and recording its pid, never starting it twice', async () => {
    const name = 'core/go-io/task-10';
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      await trackWorkspace(ctx, name, sampleRecord({ node, status: 'running', runs: 2 }));
      mkdirSync(join(ws(name), '.meta'), { recursive: true });
      writeFileSync(
        join(ws(name), '.meta', 'launch.json'),
        JSON.stringify({ pid: child.pid, run: 3, started_at: '2026-01-01T00:00:00Z' }),
      );
      const report = await hydrate(ctx);
      expect(report.requeued).toEqual([]);
      expect(report.reattach.map((r) => r.name)).toEqual([name]);
      expect(await readRecord(ctx, name)).toMatchObject({
        status: 'running',
        pid: child.pid,
        runs: 3,
      });
    } finally {
      child.kill('SIGKILL');
    }
  });

  // A fleet's shared registry is the only truth for work it never recorded: adopting a workspace
  // that only a local disk knows is the embedded store's repair (a lost or degraded database).
  if (engine.name === 'sqlite')
    it('adopts a disk-only workspace into the registry and the queue', async () => {
      const adopted = 'core/a/task-1';
      mkdirSync(ws(adopted), { recursive: true });
      writeFileSync(
        join(ws(adopted), 'status.json'),
        JSON.stringify(sampleRecord({ status: 'queued' })),
      );
      await hydrate(ctx);
      const store = await ctx.store();
      expect(await store.get(GROUPS.registry, adopted)).toMatchObject({ status: 'queued' });
      expect(await store.get(GROUPS.queue, adopted)).toBeDefined();
    });

  it('lets the newer record win and keeps one whose directory vanished as failed', async () => {
    const newer = 'core/a/task-2';
    const vanished = 'core/a/task-3';
    await trackWorkspace(ctx, newer, sampleRecord({ node, status: 'queued' }));
    writeFileSync(
      join(ws(newer), 'status.json'),
      JSON.stringify(
        sampleRecord({
          node,
          status: 'blocked',
          question: 'edited',
          updated_at: '2999-01-01T00:00:00.000Z',
        }),
      ),
    );
    // Edited a second later, as a person or another tool would: a write in the very millisecond
    // of the tracked one can land on the mirror's mtime mark (fine-grained timestamps).
    const edited = new Date(Date.now() + 1000);
    utimesSync(join(ws(newer), 'status.json'), edited, edited);
    await trackWorkspace(ctx, vanished, sampleRecord({ node, status: 'completed' }));
    rmSync(ws(vanished), { recursive: true });

    const report = await hydrate(ctx);
    const store = await ctx.store();
    expect(await store.get(GROUPS.registry, newer)).toMatchObject({
      status: 'blocked',
      question: 'edited',
    });
    expect(await store.get(GROUPS.queue, newer)).toBeUndefined();
    expect(report.missing).toEqual([vanished]);
    expect(await store.get(GROUPS.registry, vanished)).toMatchObject({
      status: 'failed',
      question: MISSING_QUESTION,
    });
    expect(existsSync(ws(vanished))).toBe(false);
  });

  // The other side of the `node` the fixtures above carry: on a shared store, what another node
  // runs, ended or kept on its disk is that node's to judge (the embedded store has one node).
  if (engine.name === 'postgres')
    it('leaves another node’s running, unjournaled and far-away records as they are', async () => {
      const running = 'core/go-io/elsewhere-1';
      const ended = 'core/go-io/elsewhere-2';
      const remote = 'core/go-io/elsewhere-3';
      const other = `${node}-other`;
      await trackWorkspace(
        ctx,
        running,
        sampleRecord({ node: other, status: 'running', pid: 99999, pid_start: '1', runs: 1 }),
      );
      await trackWorkspace(ctx, ended, sampleRecord({ node: other, status: 'cancelled', runs: 1 }));
      await trackWorkspace(
        ctx,
        remote,
        sampleRecord({ node: other, status: 'completed', runs: 1 }),
      );
      // Its workspace lives on the other node's disk, not here.
      rmSync(ws(remote), { recursive: true });
      const store = await ctx.store();
      const before = await store.entries(GROUPS.registry);
      const report = await hydrate(ctx);
      expect(report).toMatchObject({ ghosts: [], finished: [], missing: [], committed: [] });
      expect(await store.entries(GROUPS.registry)).toEqual(before);
      expect(await store.get(GROUPS.uncommitted, ended)).toBeDefined();
      expect(existsSync(join(ws(ended), '.meta', 'journal.jsonl'))).toBe(false);
    });

  it('rewrites a stale mirror from the registry: running on disk, completed in the store (a crash between the two)', async () => {
    const name = 'core/a/task-1';
    const running = await trackWorkspace(
      ctx,
      name,
      sampleRecord({ node, status: 'running', runs: 1, pid: 999_999 }),
    );
    if (!running) throw new Error('no record');
    await trackWorkspace(ctx, name, sampleRecord({ node, status: 'completed', runs: 1 }));
    // The mirror write of the completed version was lost: status.json still has the run.
    writeStatusFile(ws(name), running, { durable: true });
    expect(onDisk(name)).toMatchObject({ status: 'running' });

    await hydrate(ctx);
    expect(onDisk(name)).toMatchObject({ status: 'completed', runs: 1 });
    expect(await readRecord(ctx, name)).toMatchObject({ status: 'completed' });
    // A second restart finds nothing left to repair.
    await hydrate(ctx);
    expect(onDisk(name)).toMatchObject({ status: 'completed' });
  });

  it('replays back-off persisted by one instance in a new one', async () => {
    const until = new Date(Date.now() + 20 * 60_000).toISOString();
    const store = await ctx.store();
    await store.set(GROUPS.runtime, 'backoff', { codex: until });
    await store.set(GROUPS.runtime, 'fail_count', { claude: 2 });
    await ctx.close();
    rmSync(join(root.coreRoot, 'runtime'), { recursive: true, force: true });
    ctx = testContext(root);
    await hydrate(ctx);
    expect(
      JSON.parse(readFileSync(join(root.coreRoot, 'runtime', 'dispatch.json'), 'utf8')),
    ).toMatchObject({
      backoff: { codex: until },
      fail_count: { claude: 2 },
    });
    // And the file alone carries it into an embedded store that lost it; never into a fleet's,
    // where one node's file would pause every node's pool.
    await (await ctx.store()).delete(GROUPS.runtime, 'backoff');
    await hydrate(ctx);
    expect(await (await ctx.store()).get(GROUPS.runtime, 'backoff')).toEqual(
      engine.name === 'sqlite' ? { codex: until } : undefined,
    );
  });

  it('commits terminal records that have no journal entry yet', async () => {
    const name = 'core/a/task-9';
    await trackWorkspace(ctx, name, sampleRecord({ node, status: 'cancelled', runs: 1 }));
    const report = await hydrate(ctx);
    expect(report.committed).toEqual([name]);
    expect((await hydrate(ctx)).committed).toEqual([]);
    expect(
      readFileSync(join(ws(name), '.meta', 'journal.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(1);
  });
});

describe.each(engines())('restart with live agents on $name', (engine) => {
  let root: TempRoot;
  beforeEach(async () => {
    root = await tempRootOn(engine);
  });
  afterEach(() => root.cleanup());

  it('re-attaches an agent after the runner closes and finishes it with its real exit code', async () => {
    const first = testContext(root);
    const repo = makeSourceRepo(root);
    const { enqueueDispatch } = await import('../../src/dispatch/enqueue.js');
    const runner = await Runner.start(first);
    const gate = join(root.coreRoot, 'gate');
    const { workspace } = await enqueueDispatch(first, {
      repo,
      agent: 'shell',
      task: `${waitForGate(gate)}; exit 5`,
    });
    await waitUntil(
      'agent start',
      async () => (await readRecord(first, workspace))?.pid !== undefined,
    );
    await runner?.close();
    await first.close();

    const second = testContext(root);
    const again = await Runner.start(second);
    try {
      expect(await readRecord(second, workspace)).toMatchObject({ status: 'running' });
      writeFileSync(gate, 'go');
      await waitUntil(
        'finish',
        async () => (await readRecord(second, workspace))?.status === 'failed',
      );
      expect(await readRecord(second, workspace)).toMatchObject({
        exit_code: 5,
        question: 'agent exited with code 5',
        runs: 1,
      });
    } finally {
      await again?.close();
      await second.close();
    }
  });
});
