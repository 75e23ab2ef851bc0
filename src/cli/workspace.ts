import { rmSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { commitWorkspace } from '../lifecycle/commit.js';
import { statsHeadline, workspaceStats } from '../lifecycle/stats.js';
import { trackWorkspace } from '../lifecycle/index.js';
import { readAllRecords } from '../lifecycle/index.js';
import { keepReason } from '../deliver/index.js';
import { STATUSES, isSettled, workspaceDir, type Status } from '../workspace/index.js';
import { oneOf, positiveInt, runVerb, usage, writeJson, writeTable } from './common.js';

/** Registers `agentic workspace …`. */
export function registerWorkspace(program: Command): Command {
  const workspace = program.command('workspace').description('list, clean and measure workspaces');
  workspace
    .command('list')
    .description('list the workspaces under the workspace root')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
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
        writeTable(
          ['NAME', 'STATUS', 'AGENT', 'PATH'],
          workspaces.map((w) => [w.name, w.status, w.agent, w.path]),
        );
      }),
    );
  workspace
    .command('clean [which]')
    .description(
      'commit, then delete finished workspaces (completed, failed or all); never one holding undelivered commits, uncommitted changes, or a queued, running or blocked status unless --force',
    )
    .option(
      '--older-than <age>',
      'only those last updated longer ago than this, e.g. 7d, 12h, 30m',
      parseAge,
    )
    .option('--dry-run', 'list what would be removed and why each other one stays')
    .option(
      '--force',
      'also remove workspaces whose work was not delivered (never queued or running ones)',
    )
    .option('--json', 'print one JSON document')
    .action(
      async (
        which: string | undefined,
        opts: { olderThan?: number; dryRun?: boolean; force?: boolean },
        cmd: Command,
      ) =>
        runVerb(cmd, async (ctx, common) => {
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
        }),
    );

  workspace
    .command('stats')
    .description('outcomes, agents and durations of committed dispatches, newest first')
    .option('--repo <repo>', 'only this repo (name or org/name)')
    .option('--status <status>', `only this outcome (${STATUSES.join(', ')})`, oneOf(STATUSES))
    .option('--limit <n>', 'at most this many rows (default 100)', positiveInt)
    .option('--json', 'print one JSON document')
    .action(async (opts: { repo?: string; status?: Status; limit?: number }, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        const report = await workspaceStats(ctx, {
          repo: opts.repo,
          outcome: opts.status,
          limit: opts.limit,
        });
        if (common.json) return writeJson(report);
        process.stdout.write(`${statsHeadline(report)}\n`);
        const { rows } = report;
        if (rows.length === 0) return;
        writeTable(
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
      }),
    );
  return workspace;
}

/** Parses an age like `7d`, `12h`, `30m` or `45s` into milliseconds. */
export function parseAge(value: string): number {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a number and a unit: 30m, 12h, 7d');
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
