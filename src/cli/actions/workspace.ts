import { rmSync } from 'node:fs';
import { type Command } from 'commander';
import { commitWorkspace } from '../../lifecycle/commit.js';
import { statsHeadline, workspaceStats } from '../../lifecycle/stats.js';
import { trackWorkspace } from '../../lifecycle/index.js';
import { readAllRecords } from '../../lifecycle/index.js';
import { keepReason } from '../../deliver/index.js';
import { isSettled, workspaceDir, type Status } from '../../workspace/index.js';
import { runVerb, usage, writeJson, writeTable } from './run-verb.js';

/** Runs `list`. */
export async function list(_opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const records = await readAllRecords(ctx);
    const workspaces = [...records]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, r]) => ({
        name,
        status: r.status,
        agent: r.agent,
        path: workspaceDir(ctx.config.workspaceRoot, name),
      }));
    if (common.json) return writeJson({ workspaces });
    if (workspaces.length === 0) return void process.stdout.write('no workspaces\n');
    await writeTable(
      ['NAME', 'STATUS', 'AGENT', 'PATH'],
      workspaces.map((w) => [w.name, w.status, w.agent, w.path]),
    );
  });
}

/** Runs `clean`. */
export async function clean(
  which: string | undefined,
  opts: { olderThan?: number; dryRun?: boolean; force?: boolean },
  cmd: Command,
): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const filter = which ?? 'completed';
    if (!['completed', 'failed', 'all'].includes(filter))
      usage('which', `expected completed, failed or all (got ${JSON.stringify(filter)})`);
    const cutoff = ctx.clock.now().getTime() - (opts.olderThan ?? 0);
    const removed: string[] = [];
    const kept: Array<{ workspace: string; reason: string }> = [];
    const records = [...(await readAllRecords(ctx))].sort(([a], [b]) => a.localeCompare(b));
    for (const [name, r] of records) {
      if (filter !== 'all' && r.status !== filter) continue;
      if (Date.parse(r.updated_at) > cutoff) continue;
      const reason = await keepReason(ctx, name, r);
      const live = !isSettled(r);
      if (reason !== undefined && (live || opts.force !== true)) {
        kept.push({ workspace: name, reason });
        continue;
      }
      removed.push(name);
      if (opts.dryRun) continue;
      await commitWorkspace(ctx, name);
      rmSync(workspaceDir(ctx.config.workspaceRoot, name), { recursive: true, force: true });
      await trackWorkspace(ctx, name, null);
    }
    if (common.json)
      return writeJson({ success: true, dry_run: opts.dryRun === true, removed, kept });
    const verb = opts.dryRun ? 'would remove' : 'removed';
    process.stdout.write(`${verb} ${removed.length} workspace(s)\n`);
    if (opts.dryRun) for (const name of removed) process.stdout.write(`  ${name}\n`);
    if (kept.length > 0) {
      process.stdout.write(
        `kept ${kept.length}${opts.force ? '' : ' (--force removes finished ones anyway)'}:\n`,
      );
      for (const k of kept) process.stdout.write(`  ${k.workspace}: ${k.reason}\n`);
    }
  });
}

/** Runs `stats`. */
export async function stats(
  opts: { repo?: string; status?: Status; limit?: number },
  cmd: Command,
): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const report = await workspaceStats(ctx, {
      repo: opts.repo,
      outcome: opts.status,
      limit: opts.limit,
    });
    if (common.json) return writeJson(report);
    process.stdout.write(`${statsHeadline(report)}\n`);
    const { rows } = report;
    if (rows.length === 0) return;
    await writeTable(
      ['WORKSPACE', 'OUTCOME', 'AGENT', 'RUNS', 'DURATION', 'ENDED'],
      rows.map((r) => [
        r.workspace,
        r.outcome,
        r.agent,
        r.runs,
        r.duration_ms === null ? '-' : `${(r.duration_ms / 1000).toFixed(1)}s`,
        r.ended_at,
      ]),
    );
  });
}
