import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { runtimePaths } from '../../config/paths.js';
import { readAllRecords } from '../../lifecycle/all-records.js';
import { hasPinnedWork, statusReport } from '../../dispatch/status-report.js';
import { parseWorkspaceName } from '../../workspace/name.js';
import type { Status } from '../../workspace/index.js';
import { AgenticError } from '../../lib/errors.js';
import { age, EXIT, oneLine, reportError, runVerb, writeJson, writeTable } from './run-verb.js';
import { isFleet } from '../../store/index.js';

/** Runs `status`. */
export async function status(
  opts: { workspace?: string; status?: Status; limit?: number },
  cmd: Command,
): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    if (opts.workspace !== undefined) parseWorkspaceName(opts.workspace);
    const records = await readAllRecords(ctx);
    // Asking about a workspace that does not exist is a failed lookup (exit 1), not bad input.
    if (opts.workspace !== undefined && !records.has(opts.workspace)) {
      reportError(
        new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${opts.workspace}`, {
          field: 'workspace',
        }),
        common.json === true,
      );
      return EXIT.failed;
    }
    // Pinned work that waits for a dead node says so; the node registry is read only then.
    const leases = hasPinnedWork(records)
      ? await (await import('../../fleet/placement.js')).nodeLeases(ctx)
      : undefined;
    const report = statusReport(records, opts, leases);
    // Reading dispatch.json validates it with zod; without the file no pool is paused.
    const paused = existsSync(runtimePaths(ctx.config.coreRoot).dispatch)
      ? (await import('../../dispatch/runtime-state.js')).pausedPoolsFromFile(
          ctx.config.coreRoot,
          ctx.clock.now(),
        )
      : [];
    if (common.json) return writeJson({ ...report, paused });
    const c = report.counts;
    process.stdout.write(
      `${c.total} workspaces: ${c.queued} queued, ${c.running} running, ${c.completed} completed, ${c.failed} failed, ` +
        `${c.blocked} blocked, ${c.merged} merged, ${c.cancelled} cancelled\n`,
    );
    for (const p of paused)
      process.stdout.write(
        `pool ${p.pool} paused until ${p.until}: ${oneLine(p.reason, 160)} (agentic start clears it)\n`,
      );
    if (report.workspaces.length === 0) return;
    const now = ctx.clock.now();
    // A fleet shares one store: each row says which node's machine holds its agent and log.
    const fleet = isFleet(await ctx.store());
    await writeTable(
      ['NAME', 'STATUS', ...(fleet ? ['NODE'] : []), 'AGENT', 'RUNS', 'AGE', 'QUESTION / PR'],
      report.workspaces.map((w) => [
        w.name,
        w.delivery ? `${w.status} (${w.delivery})` : w.status,
        ...(fleet ? [w.node ?? ''] : []),
        w.agent,
        w.runs,
        age(w.updated_at, now),
        w.question ? oneLine(w.question) : (w.waiting ?? w.pr_url ?? ''),
      ]),
    );
  });
}
