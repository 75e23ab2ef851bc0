import type { AppContext } from '../context.js';
import { readRecord } from '../lifecycle/index.js';
import { workspaceDir } from '../workspace/index.js';
import { finishRuns } from './finish.js';
import type { FinishItem } from './run-end.js';
import { runEndFromExit } from './launch.js';
import { enforceReapDeadlines } from './reaper.js';
import { isFleet } from '../store/index.js';

/** How often the process groups are looked at while their grace period runs. */
const LOOK_MS = 100;

/**
 * The part of `agentic kill` a runner does when there is one: the killed agents' process
 * groups (already sent SIGTERM, their deadlines recorded) are waited for, SIGKILLed at the end
 * of the grace period, and each run is then recorded as ended (failed, "killed by operator"),
 * with its journal line. Used when no runner holds the lease, so nothing is left running and
 * nothing stays `running` until a daemon starts. Returns the workspaces it finished.
 */
export async function finishKilledWithoutRunner(
  ctx: AppContext,
  names: readonly string[],
): Promise<string[]> {
  const targets: Array<{ name: string; pid: number; runs: number }> = [];
  const fleet = isFleet(await ctx.store());
  for (const name of names) {
    const record = await readRecord(ctx, name);
    // In a fleet another node's agents are its own to finish: their pids mean nothing here.
    if (fleet && record?.node !== ctx.config.nodeId) continue;
    if (record?.status === 'running' && record.pid !== undefined)
      targets.push({ name, pid: record.pid, runs: record.runs });
  }
  const pgids = new Set(targets.map((t) => t.pid));
  // A group that outlives even SIGKILL (stuck in the kernel) must not hold the command forever.
  const giveUp = Date.now() + ctx.config.file.dispatch.kill_grace_seconds * 1000 + 30_000;
  for (;;) {
    const pass = enforceReapDeadlines(ctx.config.coreRoot, ctx.clock.now(), ctx.logger, pgids);
    if ((pass.waiting === 0 && pass.killed === 0) || Date.now() > giveUp) break;
    await new Promise((resolve) => setTimeout(resolve, LOOK_MS));
  }
  const items: FinishItem[] = targets.map(({ name, pid, runs }) => ({
    name,
    ref: { runs, pid },
    end: runEndFromExit(workspaceDir(ctx.config.workspaceRoot, name), runs),
  }));
  return [...(await finishRuns(ctx, items)).keys()];
}
