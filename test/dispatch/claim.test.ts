import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { claimReady } from '../../src/dispatch/claim.js';
import { trackInTransaction } from '../../src/lifecycle/index.js';
import { testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { writeAgentsYaml } from '../helpers/dispatch.js';
import { sampleRecord } from '../helpers/records.js';

/** Queues each [name, agent, second]: queued_at is that second of 2026-01-01. */
async function queue(ctx: AppContext, names: Array<[string, string, number]>): Promise<void> {
  await trackInTransaction(ctx, async (track) => {
    for (const [name, agent, second] of names)
      await track(
        name,
        sampleRecord({
          agent,
          queued_at: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(),
        }),
      );
  });
}

describe.each(engines())('claimReady on a long queue on $name', (engine) => {
  let root: TempRoot;
  let ctx: AppContext;
  beforeEach(async () => {
    root = await tempRootOn(engine);
  });
  afterEach(async () => {
    await ctx.close();
    root.cleanup();
  });

  // An agent of a model at its sub-limit is skipped while its pool stays open, so the claim
  // has to page past all of them; a pool at its total is left out by the store itself.
  it('looks past pages of work that cannot start to reach work that can', async () => {
    writeAgentsYaml(root, 'concurrency:\n  codex:\n    total: 5\n    opus: 1\n  shell: 1\n');
    ctx = testContext(root);
    await queue(ctx, [['core/r/opus-running', 'codex:opus', 0]]);
    expect((await claimReady(ctx, 1, 'n')).claims.map((c) => c.name)).toEqual([
      'core/r/opus-running',
    ]);
    const opus = Array.from({ length: 150 }, (_, i): [string, string, number] => [
      `core/r/opus-${i}`,
      'codex:opus',
      1 + (i % 50),
    ]);
    await queue(ctx, [...opus, ['core/r/shell-b', 'shell', 58], ['core/r/shell-a', 'shell', 57]]);
    const batch = await claimReady(ctx, 5, 'n');
    expect(batch.claims.map((c) => c.name)).toEqual(['core/r/shell-a']);
  });

  it('claims in order across pages while skipped entries stay queued', async () => {
    writeAgentsYaml(root, 'concurrency:\n  codex:\n    total: 5\n    opus: 1\n  shell: 500\n');
    ctx = testContext(root);
    await queue(ctx, [['core/r/opus-running', 'codex:opus', 0]]);
    await claimReady(ctx, 1, 'n');
    // Every other entry cannot start and stays queued; the claimed ones leave the queue while
    // the claim pages through it.
    const names: Array<[string, string, number]> = [];
    for (let i = 0; i < 200; i++)
      names.push([`core/r/t-${String(i).padStart(3, '0')}`, i % 2 ? 'shell' : 'codex:opus', 1 + i]);
    await queue(ctx, names);
    const first = await claimReady(ctx, 70, 'n');
    const shell = names.filter(([, agent]) => agent === 'shell').map(([name]) => name);
    expect(first.claims.map((c) => c.name)).toEqual(shell.slice(0, 70));
    const rest = await claimReady(ctx, 500, 'n');
    expect(rest.claims.map((c) => c.name)).toEqual(shell.slice(70));
  });

  // Degraded mode is the embedded default's fallback only: a fleet node never runs on its files.
  if (engine.name === 'sqlite')
    it('claims in the store’s order when the store is degraded and status.json is the queue', async () => {
      writeAgentsYaml(root, 'concurrency:\n  shell: 10\n');
      // A directory where the database should be: the store opens degraded.
      mkdirSync(join(root.coreRoot, 'db.sqlite'));
      ctx = testContext(root);
      expect((await ctx.store()).degraded).toBe(true);
      // Ties on priority and queued_at fall to the name, in byte order (upper case first), as the
      // store's index sorts them; a locale's order would put 'a' first.
      await queue(ctx, [
        ['core/r/b', 'shell', 5],
        ['core/r/a', 'shell', 5],
        ['core/r/B', 'shell', 5],
        ['core/r/late', 'shell', 9],
        ['core/r/early', 'shell', 1],
      ]);
      const batch = await claimReady(ctx, 10, 'n');
      expect(batch.claims.map((c) => c.name)).toEqual([
        'core/r/early',
        'core/r/B',
        'core/r/a',
        'core/r/b',
        'core/r/late',
      ]);
    });
});
