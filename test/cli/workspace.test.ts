import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trackWorkspace } from '../../src/lifecycle/index.js';
import { json, runCli } from '../helpers/cli.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

describe('agentic workspace clean and stats', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => root.cleanup());

  it('commits before deleting, honours the filter and age, never touches queued or running', async () => {
    const old = new ManualClock(new Date(Date.now() - 10 * 86_400_000));
    const ctx = testContext(root, { clock: old });
    await trackWorkspace(
      ctx,
      'core/a/task-1',
      sampleRecord({ status: 'completed', runs: 1, repo: 'a' }),
    );
    await trackWorkspace(
      ctx,
      'core/a/task-2',
      sampleRecord({ status: 'failed', runs: 1, repo: 'a' }),
    );
    await trackWorkspace(
      ctx,
      'core/a/task-3',
      sampleRecord({ status: 'running', runs: 1, repo: 'a', pid: 1 }),
    );
    await trackWorkspace(ctx, 'core/a/task-4', sampleRecord({ status: 'queued', repo: 'a' }));
    await ctx.close();
    const fresh = testContext(root);
    await trackWorkspace(
      fresh,
      'core/a/task-5',
      sampleRecord({ status: 'completed', runs: 1, repo: 'a' }),
    );
    await fresh.close();

    const first = json<{ removed: string[] }>(
      await runCli(['workspace', 'clean', 'completed', '--older-than', '7d', '--json'], root.env),
    );
    expect(first.removed).toEqual(['core/a/task-1']);
    const all = json<{ removed: string[] }>(
      await runCli(['workspace', 'clean', 'all', '--json'], root.env),
    );
    expect(all.removed.sort()).toEqual(['core/a/task-2', 'core/a/task-5']);
    for (const n of ['task-1', 'task-2', 'task-5'])
      expect(existsSync(join(root.coreRoot, 'workspace', 'core', 'a', n))).toBe(false);
    for (const n of ['task-3', 'task-4'])
      expect(existsSync(join(root.coreRoot, 'workspace', 'core', 'a', n))).toBe(true);

    const stats = json<{
      summary: { count: number; by_outcome: Record<string, number> };
      rows: Array<{ workspace: string }>;
    }>(await runCli(['workspace', 'stats', '--repo', 'a', '--json'], root.env));
    expect(stats.summary).toMatchObject({ count: 3, by_outcome: { completed: 2, failed: 1 } });
    const failed = json<{ rows: unknown[] }>(
      await runCli(['workspace', 'stats', '--status', 'failed', '--json'], root.env),
    );
    expect(failed.rows).toHaveLength(1);
    expect((await runCli(['workspace', 'clean', 'everything'], root.env)).code).toBe(2);
    expect((await runCli(['workspace', 'clean', '--older-than', 'soon'], root.env)).code).toBe(2);
    const status = json<{ counts: { total: number } }>(
      await runCli(['status', '--json'], root.env),
    );
    expect(status.counts.total).toBe(2);
  });
});
