import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { statsHeadline, workspaceStats } from '../lifecycle/stats.js';
import type { AppContext } from '../context.js';
import { setFrozen } from '../dispatch/frozen.js';
import { leaseHeld } from '../dispatch/runner-lease.js';
import { killAll } from '../dispatch/control.js';
import { wakeRunner } from '../dispatch/wake.js';
import { readAllRecords } from '../lifecycle/index.js';
import { STATUSES } from '../workspace/index.js';
import { okResult } from './result.js';
import { guarded, type ToolEnv } from './tool-env.js';

const controlOutput = {
  success: z.boolean(),
  running: z.number().int().describe('Workspaces running after the operation'),
  queued: z.number().int().describe('Workspaces queued after the operation'),
  message: z.string().describe('What happened'),
};

async function counts(ctx: AppContext): Promise<{ running: number; queued: number }> {
  let running = 0;
  let queued = 0;
  for (const r of (await readAllRecords(ctx)).values()) {
    if (r.status === 'running') running += 1;
    else if (r.status === 'queued') queued += 1;
  }
  return { running, queued };
}

function noRunnerNote(ctx: AppContext): string {
  return leaseHeld(ctx.config.coreRoot, ctx.clock.now())
    ? ''
    : '; note: no runner is active for this CoreRoot, so nothing starts until `agentic daemon` (or an `agentic mcp` session) runs';
}

/** Registers agentic_dispatch_start, agentic_dispatch_shutdown, agentic_dispatch_shutdown_now and agentic_workspace_stats. */
export function registerControlTools(server: McpServer, env: ToolEnv): void {
  const { ctx } = env;
  server.registerTool(
    'agentic_dispatch_start',
    {
      title: 'Resume dispatching',
      description:
        'Unfreeze dispatching (after agentic_dispatch_shutdown or _now): queued work starts again.',
      inputSchema: {},
      outputSchema: controlOutput,
    },
    guarded(env, async () => {
      await setFrozen(ctx, false);
      await wakeRunner(ctx.config.coreRoot);
      const c = await counts(ctx);
      const message = `dispatching resumed${noRunnerNote(ctx)}`;
      return okResult(message, { success: true, ...c, message });
    }),
  );

  server.registerTool(
    'agentic_dispatch_shutdown',
    {
      title: 'Freeze dispatching',
      description:
        'Freeze dispatching gracefully: running agents finish their work, queued work waits until agentic_dispatch_start.',
      inputSchema: {},
      outputSchema: controlOutput,
    },
    guarded(env, async () => {
      await setFrozen(ctx, true);
      await wakeRunner(ctx.config.coreRoot);
      const c = await counts(ctx);
      const message = `dispatching frozen; ${c.running} running agents continue, ${c.queued} queued wait`;
      return okResult(message, { success: true, ...c, message });
    }),
  );

  server.registerTool(
    'agentic_dispatch_shutdown_now',
    {
      title: 'Stop everything now',
      description:
        'Freeze dispatching, terminate every running agent (it ends failed, "killed by operator") and cancel all queued work ' +
        '(kept and journaled). Undo the freeze with agentic_dispatch_start.',
      inputSchema: {},
      outputSchema: controlOutput,
    },
    guarded(env, async () => {
      const result = await killAll(ctx);
      const c = await counts(ctx);
      const message = `frozen; terminating ${result.killed.length} running, cancelled ${result.cancelled.length} queued`;
      return okResult(message, { success: true, ...c, message });
    }),
  );

  server.registerTool(
    'agentic_workspace_stats',
    {
      title: 'Dispatch statistics',
      description:
        'Outcomes, agents and durations of committed dispatches, newest first, with a summary by outcome.',
      inputSchema: {
        repo: z.string().min(1).optional().describe('Only this repo (name or org/name)'),
        status: z.enum(STATUSES).optional().describe('Only this outcome'),
        limit: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .optional()
          .describe('At most this many rows (default 100)'),
      },
      outputSchema: {
        summary: z.object({
          count: z.number().int(),
          by_outcome: z.record(z.string(), z.number().int()),
          mean_duration_ms: z.number().nullable(),
          /** Tokens and cost the agent CLIs reported, once per workspace listed. */
          usage: z.object({
            input_tokens: z.number().int(),
            output_tokens: z.number().int(),
            cost_usd: z.number().optional(),
            workspaces: z.number().int(),
          }),
        }),
        rows: z.array(
          z.object({
            workspace: z.string(),
            repo: z.string(),
            org: z.string(),
            agent: z.string(),
            model: z.string().nullable(),
            outcome: z.string(),
            runs: z.number().int(),
            duration_ms: z.number().nullable(),
            started_at: z.string().nullable(),
            ended_at: z.string(),
            committed_at: z.string(),
            fingerprint: z.string(),
          }),
        ),
        degraded: z.boolean().describe('True when the store is unavailable (no statistics then)'),
      },
    },
    guarded(env, async (args) => {
      const report = await workspaceStats(ctx, {
        repo: args.repo,
        outcome: args.status,
        limit: args.limit,
      });
      return okResult(statsHeadline(report), { ...report });
    }),
  );
}
