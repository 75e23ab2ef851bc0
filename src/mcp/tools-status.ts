import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { logPath } from '../dispatch/launch.js';
import { readWorkspaceLog, remoteLogNode } from '../dispatch/log-request.js';
import { LOG_SLICE_MAX_BYTES } from '../dispatch/log-slice.js';
import { hasPinnedWork, statusReport } from '../dispatch/status-report.js';
import { nodeLeases } from '../fleet/placement.js';
import { workspaceRowSchema } from '../dispatch/status-schema.js';
import { readAllRecords, readRecord } from '../lifecycle/index.js';
import { AgenticError } from '../lib/errors.js';
import {
  parseWorkspaceName,
  poolOf,
  STATUSES,
  workspaceDir,
  type StatusRecord,
} from '../workspace/index.js';
import { readLogTail, tailLines } from './log-tail.js';
import { okResult } from './result.js';
import { guarded, type ToolEnv } from './tool-env.js';
import { workspaceArg } from './tools-workspace.js';

const statusEnum = z.enum(STATUSES);

/** Registers agentic_status and agentic_logs: what a lead agent reads while its workers run. */
export function registerStatusTools(server: McpServer, env: ToolEnv): void {
  const { ctx } = env;
  server.registerTool(
    'agentic_status',
    {
      title: 'Workspace status',
      description:
        'Counts of all workspaces by status, every blocked workspace with its question, and the workspace rows ' +
        '(most recently updated first). Counts and blocked cover all workspaces, or only the one named by workspace ' +
        '(an unknown workspace is an error); status and limit filter the rows.',
      inputSchema: {
        workspace: workspaceArg.optional().describe('Only this workspace (org/repo/leaf)'),
        status: statusEnum.optional().describe('Only rows with this status'),
        limit: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .optional()
          .describe('At most this many rows (default 50)'),
      },
      outputSchema: {
        total: z.number().int().describe('All workspaces'),
        queued: z.number().int().describe('Workspaces waiting for capacity'),
        running: z.number().int().describe('Workspaces with an agent at work'),
        completed: z.number().int(),
        failed: z.number().int(),
        merged: z.number().int(),
        cancelled: z.number().int(),
        blocked: z
          .array(
            z.object({
              name: z.string(),
              repo: z.string(),
              agent: z.string(),
              question: z.string(),
            }),
          )
          .describe('Workspaces whose agent asked a question (answer with agentic_resume)'),
        workspaces: z.array(workspaceRowSchema).describe('Workspace rows after filtering'),
      },
    },
    guarded(env, async (args) => {
      if (args.workspace !== undefined) parseWorkspaceName(args.workspace);
      const all = await readAllRecords(ctx);
      const one = args.workspace === undefined ? undefined : all.get(args.workspace);
      if (args.workspace !== undefined && one === undefined)
        throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${args.workspace}`, {
          field: 'workspace',
        });
      // Counts answer the question asked: one workspace's, when one is named.
      const records =
        args.workspace !== undefined && one !== undefined ? new Map([[args.workspace, one]]) : all;
      const { counts, workspaces } = statusReport(
        records,
        { workspace: args.workspace, status: args.status },
        hasPinnedWork(records) ? await nodeLeases(ctx) : undefined,
      );
      const rows = workspaces
        .sort((a, b) => b.updated_at.localeCompare(a.updated_at) || a.name.localeCompare(b.name))
        .slice(0, args.limit ?? 50);
      const blocked = [...records]
        .filter(([, r]) => r.status === 'blocked')
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, r]) => ({ name, repo: r.repo, agent: r.agent, question: r.question ?? '' }));
      const { blocked: _count, ...rest } = counts;
      const lines = [
        `${counts.total} workspaces: ${counts.queued} queued, ${counts.running} running, ${counts.completed} completed, ` +
          `${counts.failed} failed, ${counts.blocked} blocked, ${counts.merged} merged, ${counts.cancelled} cancelled`,
        ...blocked.map((b) => `blocked ${b.name}: ${b.question}`),
        ...rows.map(
          (w) =>
            `${w.name} ${w.status}${w.question || w.waiting ? ` — ${w.question ?? w.waiting}` : ''}`,
        ),
      ];
      return okResult(lines.join('\n'), { ...rest, blocked, workspaces: rows });
    }),
  );

  server.registerTool(
    'agentic_logs',
    {
      title: 'Agent output',
      description: "The last lines of the agent's output (stdout and stderr) in a workspace.",
      inputSchema: {
        workspace: workspaceArg,
        tail: z
          .number()
          .int()
          .min(1)
          .max(5000)
          .optional()
          .describe('Number of lines from the end (default 100)'),
      },
      outputSchema: {
        workspace: z.string(),
        status: statusEnum,
        node: z
          .string()
          .nullable()
          .describe('The node whose disk holds the log (fleet mode), or null'),
        log_path: z.string().describe('Path of the log file on that node'),
        lines: z.number().int().describe('Lines returned'),
        truncated: z.boolean().describe('True when earlier lines were left out'),
        text: z.string().describe('The lines, newline-separated'),
      },
    },
    guarded(env, async (args) => {
      const record = await requireRecord(env, args.workspace);
      // In a fleet the log is on the disk of the node that ran the agent: that node reads it.
      const remote = remoteLogNode(ctx, await ctx.store(), record) !== undefined;
      const log = remote
        ? await readWorkspaceLog(ctx, args.workspace, record, { maxBytes: LOG_SLICE_MAX_BYTES })
        : undefined;
      const path =
        log?.path ??
        logPath(workspaceDir(ctx.config.workspaceRoot, args.workspace), poolOf(record.agent));
      const tail =
        log !== undefined
          ? tailLines(log.slice, args.tail ?? 100)
          : readLogTail(path, args.tail ?? 100);
      const text = tail.lines.join('\n');
      return okResult(text === '' ? `(no output yet from ${args.workspace})` : text, {
        workspace: args.workspace,
        status: record.status,
        node: record.node ?? null,
        log_path: path,
        lines: tail.lines.length,
        truncated: tail.truncated,
        text,
      });
    }),
  );
}

async function requireRecord(env: ToolEnv, name: string): Promise<StatusRecord> {
  parseWorkspaceName(name);
  const record = await readRecord(env.ctx, name);
  if (!record)
    throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
      field: 'workspace',
    });
  return record;
}
