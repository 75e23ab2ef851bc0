import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { claimReady } from '../../src/dispatch/claim.js';
import { setFrozen } from '../../src/dispatch/frozen.js';
import { hydrate } from '../../src/dispatch/hydrate.js';
import {
  clearPauses,
  loadRuntime,
  mirrorRuntime,
  saveRuntime,
} from '../../src/dispatch/runtime-state.js';
import { readRecord, trackInTransaction, trackWorkspace } from '../../src/lifecycle/index.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { writeAgentsYaml } from '../helpers/dispatch.js';
import { sampleRecord } from '../helpers/records.js';

const canceller = join(import.meta.dirname, '..', 'fixtures', 'canceller.mjs');

/** Queues `shell` work: each name gets queued_at one second after the previous one. */
async function queue(ctx: AppContext, names: string[]): Promise<void> {
  await trackInTransaction(ctx, async (track) => {
    for (const [i, name] of names.entries())
      await track(
        name,
        sampleRecord({
          agent: 'shell',
          queued_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        }),
      );
  });
}

// The same dispatch behaviour on the healthy store and in degraded mode (a directory where the
// database should be, so the file engine carries the state).
describe.each([
  { mode: 'sqlite', degraded: false },
  { mode: 'files', degraded: true },
])('dispatch state on $mode', ({ degraded }) => {
  let root: TempRoot;
  let ctx: AppContext;
  const restart = async (): Promise<void> => {
    await ctx.close();
    ctx = testContext(root);
  };
  beforeEach(async () => {
    root = tempRoot();
    if (degraded) mkdirSync(join(root.coreRoot, 'db.sqlite'));
    writeAgentsYaml(root, 'concurrency:\n  shell: 2\n');
    ctx = testContext(root);
    expect((await ctx.store()).degraded).toBe(degraded);
  });
  afterEach(async () => {
    await ctx.close();
    root.cleanup();
  });

  it('claims within the pool limit, counting running work again after a restart', async () => {
    const names = ['core/r/t-0', 'core/r/t-1', 'core/r/t-2', 'core/r/t-3'];
    await queue(ctx, names);
    const first = await claimReady(ctx, 10, 'n');
    await first.durable;
    expect(first.claims.map((c) => c.name)).toEqual(names.slice(0, 2));
    await restart();
    expect((await claimReady(ctx, 10, 'n')).claims).toEqual([]);
    const [done] = first.claims;
    if (done === undefined) throw new Error('no claim');
    await trackWorkspace(ctx, done.name, { ...done.record, status: 'completed' });
    expect((await claimReady(ctx, 10, 'n')).claims.map((c) => c.name)).toEqual(['core/r/t-2']);
  });

  it('keeps a pool’s back-off across a restart until start clears it', async () => {
    const until = new Date(Date.now() + 30 * 60_000);
    const store = await ctx.store();
    const runtime = await store.transaction(async (tx) => {
      const state = await loadRuntime(tx, root.coreRoot);
      state.backoff['shell'] = until.toISOString();
      state.backoff_reason['shell'] = 'test';
      await saveRuntime(tx, state);
      return state;
    });
    mirrorRuntime(store, root.coreRoot, runtime);
    await restart();
    await queue(ctx, ['core/r/t-0']);
    const paused = await claimReady(ctx, 10, 'n');
    expect(paused.claims).toEqual([]);
    expect(paused.retryAt).toEqual(until);
    expect(await clearPauses(ctx)).toEqual(['shell']);
    await restart();
    expect((await claimReady(ctx, 10, 'n')).claims.map((c) => c.name)).toEqual(['core/r/t-0']);
  });

  it('stop freezes claims in every process until start thaws them', async () => {
    await setFrozen(ctx, true);
    await restart();
    await queue(ctx, ['core/r/t-0']);
    const frozen = await claimReady(ctx, 10, 'n');
    expect(frozen.frozen).toBe(true);
    expect(frozen.claims).toEqual([]);
    await setFrozen(ctx, false);
    await restart();
    expect((await claimReady(ctx, 10, 'n')).claims.map((c) => c.name)).toEqual(['core/r/t-0']);
  });

  it('hydrate commits a terminal record exactly once and leaves a pending closeout to the runner', async () => {
    await trackWorkspace(ctx, 'core/r/cancelled', sampleRecord({ status: 'cancelled', runs: 1 }));
    await trackWorkspace(
      ctx,
      'core/r/closing',
      sampleRecord({ status: 'completed', runs: 1, closeout: 'pending' }),
    );
    const report = await hydrate(ctx);
    expect(report.committed).toEqual(['core/r/cancelled']);
    expect(report.closeouts.map(([name]) => name)).toEqual(['core/r/closing']);
    await restart();
    expect((await hydrate(ctx)).committed).toEqual([]);
    const journal = join(
      root.coreRoot,
      'workspace',
      'core',
      'r',
      'cancelled',
      '.meta',
      'journal.jsonl',
    );
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('never loses a cancel from another process that races the claims', async () => {
    writeAgentsYaml(root, 'concurrency:\n  shell: 100\n');
    await restart();
    const names = Array.from({ length: 24 }, (_, i) => `core/r/t-${String(i).padStart(2, '0')}`);
    await queue(ctx, names);
    // The other process cancels in claim order while this one claims: both go for the same head.
    const child = spawn(process.execPath, [canceller, ...names], {
      env: { ...process.env, ...root.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Claims start once the other process is cancelling, so the two overlap.
    await new Promise((resolve) => child.stdout.once('data', resolve));
    let running = true;
    void exited.then(() => (running = false));
    const claimed = new Set<string>();
    for (;;) {
      const batch = await claimReady(ctx, 1, 'n');
      for (const c of batch.claims) claimed.add(c.name);
      if (!running && batch.claims.length === 0) break;
      // Lets the child's exit be seen: a claim on SQLite never leaves the microtask queue.
      await new Promise((r) => setImmediate(r));
    }
    expect(await exited).toBe(0);
    const cancels = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { name: string; status: string });
    expect(cancels).toHaveLength(names.length);
    for (const { name, status } of cancels) {
      const final = await readRecord(ctx, name);
      if (status === 'cancelled') {
        // Cancelled while queued: no claim may have taken it, before or after.
        expect(claimed.has(name), name).toBe(false);
        expect(final?.status, name).toBe('cancelled');
      } else {
        // Found running: claimed first, and the cancel is recorded on the run.
        expect(claimed.has(name), name).toBe(true);
        expect(final, name).toMatchObject({ status: 'running', kill_reason: 'cancel' });
      }
    }
  }, 60_000);
});
