import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { commitWorkspace } from '../../src/lifecycle/commit.js';
import { trackWorkspace } from '../../src/lifecycle/index.js';
import { runQa, writeReport } from '../../src/qa/index.js';
import { GROUPS } from '../../src/store/index.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

describe('commit', () => {
  let root: TempRoot;
  let ctx: AppContext;
  const clock = new ManualClock(new Date('2026-06-01T10:00:00.000Z'));
  beforeEach(() => {
    root = tempRoot();
    ctx = testContext(root, { clock });
  });
  afterEach(async () => {
    await ctx.close();
    root.cleanup();
  });

  const meta = (name: string): string => join(root.coreRoot, 'workspace', name, '.meta');
  const journal = (name: string): Array<Record<string, unknown>> =>
    readFileSync(join(meta(name), 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('appends one journal line; committing again is skipped with the earlier committed_at', async () => {
    const name = 'core/go-io/task-1';
    await trackWorkspace(
      ctx,
      name,
      sampleRecord({
        status: 'completed',
        runs: 1,
        started_at: '2026-06-01T09:58:00.000Z',
        issue: 1,
      }),
    );
    const first = await commitWorkspace(ctx, name);
    clock.advance(5000);
    const second = await commitWorkspace(ctx, name);
    expect(first).toMatchObject({
      success: true,
      workspace: name,
      skipped: false,
      journal_path: join(meta(name), 'journal.jsonl'),
      marker_path: join(meta(name), 'commit.json'),
    });
    expect(second).toEqual({ ...first, skipped: true });
    expect(journal(name)).toHaveLength(1);
    expect(journal(name)[0]).toMatchObject({
      workspace: name,
      repo: 'go-io',
      org: 'core',
      task: 'fix the tests',
      agent: 'codex',
      status: 'completed',
      runs: 1,
      issue: 1,
      started_at: '2026-06-01T09:58:00.000Z',
      committed_at: first.committed_at,
    });
    expect(JSON.parse(readFileSync(join(meta(name), 'commit.json'), 'utf8'))).toMatchObject({
      workspace: name,
      runs: 1,
    });
    const store = await ctx.store();
    expect(await store.get(GROUPS.dispatchHistory, name)).toMatchObject({
      id: name,
      synced: false,
      status: 'completed',
    });
    expect(await store.queryStats({})).toEqual([
      expect.objectContaining({
        workspace: name,
        outcome: 'completed',
        agent: 'codex',
        duration_ms: 120_000,
      }),
    ]);
  });

  it('journals failed, blocked and cancelled versions, one line per version', async () => {
    const name = 'core/go-io/task-2';
    for (const [status, runs] of [
      ['failed', 1],
      ['blocked', 2],
      ['cancelled', 2],
    ] as const) {
      clock.advance(1000);
      await trackWorkspace(ctx, name, sampleRecord({ status, runs, question: status }));
      await commitWorkspace(ctx, name);
      await commitWorkspace(ctx, name);
    }
    expect(journal(name).map((l) => [l['status'], l['runs']])).toEqual([
      ['failed', 1],
      ['blocked', 2],
      ['cancelled', 2],
    ]);
    expect(await (await ctx.store()).queryStats({ repo: 'core/go-io' })).toHaveLength(3);
  });

  it('carries changes, delivery and the compact QA report of this version, not a stale one', async () => {
    const name = 'core/go-io/task-3';
    const dir = join(root.coreRoot, 'workspace', name);
    mkdirSync(join(dir, 'repo'), { recursive: true });
    const eslintOutput = JSON.stringify([
      {
        filePath: join(dir, 'repo', 'a.js'),
        messages: [{ ruleId: 'no-unused-vars', line: 3, column: 1, severity: 2, message: 'x' }],
      },
    ]);
    const report = await runQa({
      workspace: name,
      repoDir: join(dir, 'repo'),
      commit: 'abc',
      checks: [
        {
          name: 'lint',
          run: [process.execPath, '-e', `console.log(${JSON.stringify(eslintOutput)})`],
          timeout_seconds: 30,
          kind: 'lint',
          parse: 'eslint-json',
        },
      ],
      history: [],
      changes: { commits: 1, files_changed: 2, insertions: 3, deletions: 0 },
      env: { PATH: process.env['PATH'] ?? '' },
      now: () => clock.now(),
      logDir: join(dir, '.meta', 'qa'),
    });
    await writeReport(dir, report);
    const changes = { commits: 1, files_changed: 2, insertions: 3, deletions: 0 };
    const delivered = {
      mode: 'branch',
      ref: 'refs/heads/agent/x',
      sha: 'abc',
      at: '2026-01-01T00:00:00Z',
    };
    // A version without QA (the report on disk is an earlier cycle's) carries no report.
    await trackWorkspace(ctx, name, sampleRecord({ status: 'completed', runs: 1, changes }));
    await commitWorkspace(ctx, name);
    expect(journal(name)[0]?.['report']).toBeUndefined();
    clock.advance(1000);
    await trackWorkspace(
      ctx,
      name,
      sampleRecord({
        status: 'completed',
        runs: 2,
        changes,
        delivered,
        qa: { passed: true, summary_text: report.summary_text, new_findings: 0 },
      }),
    );
    await commitWorkspace(ctx, name);
    expect(journal(name)[1]).toMatchObject({
      changes,
      delivered,
      qa: { passed: true },
      report: { passed: true, lint_passed: true, findings: ['lint|a.js|3|no-unused-vars'] },
    });
  });

  it('recovers from a crash between journal append and marker: no second line', async () => {
    const name = 'core/go-io/task-4';
    await trackWorkspace(ctx, name, sampleRecord({ status: 'failed', runs: 3 }));
    await commitWorkspace(ctx, name);
    writeFileSync(join(meta(name), 'commit.json'), '{}');
    expect((await commitWorkspace(ctx, name)).skipped).toBe(false);
    expect(journal(name)).toHaveLength(1);
  });

  it('cuts off a torn last line left by a crash mid-append', async () => {
    const name = 'core/go-io/task-5';
    await trackWorkspace(ctx, name, sampleRecord({ status: 'failed', runs: 1 }));
    await commitWorkspace(ctx, name);
    appendFileSync(join(meta(name), 'journal.jsonl'), '{"workspace":"core/go-io/task-5","tor');
    clock.advance(1000);
    await trackWorkspace(ctx, name, sampleRecord({ status: 'completed', runs: 2 }));
    await commitWorkspace(ctx, name);
    expect(journal(name).map((l) => l['runs'])).toEqual([1, 2]);
  });

  it('fails clearly for an unknown workspace', async () => {
    await expect(commitWorkspace(ctx, 'core/nope/task-1')).rejects.toMatchObject({
      code: 'WORKSPACE_NOT_FOUND',
    });
    await expect(commitWorkspace(ctx, '../x')).rejects.toMatchObject({
      code: 'WORKSPACE_NAME_INVALID',
    });
  });
});
