import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { commitWorkspace } from '../../src/lifecycle/commit.js';
import { readRecord, trackWorkspace } from '../../src/lifecycle/index.js';
import { GROUPS } from '../../src/store/index.js';
import { workspaceDir } from '../../src/workspace/index.js';
import { writeStatusFile } from '../../src/workspace/status-file.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

describe('rebuilding a replaced state store', () => {
  let root: TempRoot;
  let ctx: AppContext | undefined;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
    root.cleanup();
  });

  const RESUMED = 'core/go-io/task-1';
  const STALE = 'core/go-io/task-2';

  it('restores history, the versions waiting for the hub and stats from the journals, the sync queue from queue.json, and recognises a journaled run', async () => {
    const clock = new ManualClock(new Date('2026-02-01T10:00:00.000Z'));
    const seed = testContext(root, { clock });
    // One workspace run three times, each run committed: three journal lines.
    for (let runs = 1; runs <= 3; runs++) {
      clock.advance(60_000);
      await trackWorkspace(
        seed,
        RESUMED,
        sampleRecord({ status: 'completed', runs, started_at: '2026-02-01T10:00:00.000Z' }),
      );
      await commitWorkspace(seed, RESUMED);
    }
    // A run that ended and was journaled, whose mirror a crash left at `running`.
    clock.advance(60_000);
    const running = sampleRecord({
      status: 'running',
      runs: 1,
      pid: 999_999,
      started_at: '2026-02-01T10:00:00.000Z',
    });
    const before = await trackWorkspace(seed, STALE, running);
    clock.advance(60_000);
    await trackWorkspace(
      seed,
      STALE,
      sampleRecord({ status: 'failed', runs: 1, question: 'boom' }),
    );
    await commitWorkspace(seed, STALE);
    const staleDir = workspaceDir(join(root.coreRoot, 'workspace'), STALE);
    if (!before) throw new Error('no record');
    writeStatusFile(staleDir, before, { durable: true });
    const journalBefore = readFileSync(join(staleDir, '.meta', 'journal.jsonl'), 'utf8');
    await seed.close();
    // Entries queued for a hub that was down, as the mirror holds them.
    mkdirSync(join(root.coreRoot, 'sync'), { recursive: true });
    writeFileSync(
      join(root.coreRoot, 'sync', 'queue.json'),
      JSON.stringify(
        ['entry-1', 'entry-2'].map((id, attempts) => ({
          id,
          agent_id: 'node-a',
          dispatches: [],
          queued_at: '2026-02-01T10:00:00.000Z',
          attempts,
          next_attempt: '2026-02-01T10:00:00.000Z',
          lease_owner: 'gone-process',
        })),
      ),
    );
    // The database is replaced by garbage: the next open quarantines and rebuilds it.
    writeFileSync(join(root.coreRoot, 'db.sqlite'), 'this is not a database');

    ctx = testContext(root, { clock });
    const store = await ctx.store();
    expect(await store.count(GROUPS.dispatchHistory)).toBe(2);
    // Runs 1 and 2 of the resumed workspace wait for the hub again (run 3 is its history record).
    const waiting = await store.entries(GROUPS.syncVersions);
    expect(waiting.map(([, v]) => (v as { runs: number }).runs).sort()).toEqual([1, 2]);
    for (const [key, value] of waiting) {
      const { id, fingerprint, updated_at, runs } = value as Record<string, unknown>;
      expect(id).toBe(RESUMED);
      expect(fingerprint).toBe(`${String(updated_at)}#${String(runs)}`);
      expect(key).toBe(`${RESUMED}#${String(fingerprint)}`);
    }
    const stats = await store.queryStats({ limit: 100 });
    expect(
      stats
        .filter((r) => r.workspace === RESUMED)
        .map((r) => r.runs)
        .sort(),
    ).toEqual([1, 2, 3]);
    expect(stats.filter((r) => r.workspace === STALE)).toHaveLength(1);
    // The queue comes back whole, without the leases of processes that died with the database.
    const queue = await store.entries(GROUPS.syncQueue);
    expect(queue.map(([id]) => id).sort()).toEqual(['entry-1', 'entry-2']);
    for (const [, entry] of queue) expect(entry).not.toHaveProperty('lease_owner');
    // The stale mirror's run is recognised by its journal line: ended, and already committed.
    expect(await readRecord(ctx, STALE)).toMatchObject({ status: 'failed', runs: 1 });
    expect(await store.get(GROUPS.uncommitted, STALE)).toBeUndefined();
    expect(readFileSync(join(staleDir, '.meta', 'journal.jsonl'), 'utf8')).toBe(journalBefore);
  });

  it('rebuilds each stats row exactly as the journal commit wrote it', async () => {
    const clock = new ManualClock(new Date('2026-02-01T10:00:00.000Z'));
    const seed = testContext(root, { clock });
    clock.advance(90_000);
    await trackWorkspace(
      seed,
      RESUMED,
      sampleRecord({
        status: 'completed',
        agent: 'codex:gpt-5.4',
        runs: 1,
        started_at: '2026-02-01T10:00:00.000Z',
      }),
    );
    await commitWorkspace(seed, RESUMED);
    // Never started: no start time, so no duration.
    await trackWorkspace(seed, STALE, sampleRecord({ status: 'cancelled', runs: 0 }));
    await commitWorkspace(seed, STALE);
    const byName = (a: { workspace: string }, b: { workspace: string }): number =>
      a.workspace.localeCompare(b.workspace);
    const committed = (await (await seed.store()).queryStats({ limit: 100 })).sort(byName);
    expect(committed).toHaveLength(2);
    expect(committed.find((r) => r.workspace === RESUMED)).toMatchObject({
      model: 'gpt-5.4',
      duration_ms: 90_000,
    });
    expect(committed.find((r) => r.workspace === STALE)).toMatchObject({
      started_at: null,
      duration_ms: null,
    });
    await seed.close();
    writeFileSync(join(root.coreRoot, 'db.sqlite'), 'this is not a database');

    ctx = testContext(root, { clock });
    const rebuilt = (await (await ctx.store()).queryStats({ limit: 100 })).sort(byName);
    expect(rebuilt).toEqual(committed);
  });
});
