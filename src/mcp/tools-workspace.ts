import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { statusReport } from '../cli/status.js';
import { logPath } from '../dispatch/launch.js';
import { cancelWorkspace, enqueueDispatch, resumeWorkspace } from '../dispatch/service.js';
import { commitWorkspace } from '../lifecycle/commit.js';
import { readAllRecords, readRecord } from '../lifecycle/index.js';
import { AgenticError } from '../lib/errors.js';
import {
  parseWorkspaceName,
  poolOf,
  STATUSES,
  workspaceDir,
  type StatusRecord,
} from '../workspace/index.js';
import { readLogTail } from './log-tail.js';
import { okResult } from './result.js';
import { guarded, type ToolEnv } from './tool-env.js';

const workspaceArg = z
  .string()
  .describe(
    'Workspace name org/repo/leaf, as returned by agentic_dispatch (e.g. core/go-io/task-42)',
  );
const statusEnum = z.enum(STATUSES);

const outcomeShape = {
  success: z.boolean().describe('True when the operation was carried out'),
  workspace: z.string().describe('Workspace name org/repo/leaf'),
  status: statusEnum.describe('Status right after the operation'),
  agent: z.string().describe('Agent string base[:model]'),
};

const rowSchema = z.object({
  name: z.string(),
  status: statusEnum,
  agent: z.string(),
  repo: z.string(),
  org: z.string(),
  branch: z.string(),
  runs: z.number().int(),
  pid: z.number().int().nullable(),
  question: z.string().nullable(),
  started_at: z.string().nullable(),
  updated_at: z.string(),
});

/** Registers agentic_dispatch, agentic_status, agentic_resume, agentic_cancel, agentic_logs and agentic_commit. */
export function registerWorkspaceTools(server: McpServer, env: ToolEnv): void {
  const { ctx } = env;
  server.registerTool(
    'agentic_dispatch',
    {
      title: 'Dispatch a task to an agent',
      description:
        'Queue a task for a coding agent in a fresh isolated workspace (a git clone of repo on its own branch). ' +
        'Returns at once with the workspace name; the agent runs in the background. This session gets a ' +
        'logging notification when the workspace ends (completed, failed, blocked or cancelled); ' +
        'agentic_status shows progress and a blocked agent’s question.',
      inputSchema: {
        repo: z
          .string()
          .min(1)
          .describe(
            "Local git repository (absolute path, or relative to the MCP server's working directory) or a git URL",
          ),
        task: z
          .string()
          .describe('What the agent should do (the prompt; for agent "shell", a shell script)'),
        agent: z
          .string()
          .optional()
          .describe(
            'Agent as base[:model], e.g. claude, codex:gpt-5.4, gemini, opencode, shell or one from agents.yaml (default: dispatch.default_agent)',
          ),
        org: z
          .string()
          .optional()
          .describe('Organisation segment of the workspace name (default: dispatch.default_org)'),
        name: z
          .string()
          .optional()
          .describe('Repository segment of the workspace name (default: derived from repo)'),
        issue: z
          .number()
          .int()
          .positive()
          .optional()
          .describe('Issue number; the workspace leaf becomes task-<issue>'),
        pr: z
          .number()
          .int()
          .positive()
          .optional()
          .describe('Pull request number; the workspace leaf becomes pr-<pr>'),
        branch: z
          .string()
          .optional()
          .describe(
            'Working branch (default: agent/<task slug>); also the workspace leaf when neither issue nor pr is given',
          ),
        priority: z
          .number()
          .int()
          .min(-1000)
          .max(1000)
          .optional()
          .describe('Higher runs first; -1000 to 1000 (default 0)'),
      },
      outputSchema: {
        ...outcomeShape,
        repo: z.string().describe('Repository segment of the workspace name'),
        branch: z.string().describe('Branch the agent works on'),
      },
    },
    guarded(env, async (args) => {
      const { workspace, record } = await enqueueDispatch(ctx, { ...args, cwd: env.cwd });
      env.follow(workspace, record);
      return okResult(`queued ${workspace} for ${record.agent}`, {
        success: true,
        workspace,
        status: record.status,
        agent: record.agent,
        repo: record.repo,
        branch: record.branch,
      });
    }),
  );

  server.registerTool(
    'agentic_status',
    {
      title: 'Workspace status',
      description:
        'Counts of all workspaces by status, every blocked workspace with its question, and the workspace rows ' +
        '(most recently updated first). Counts and blocked always cover all workspaces; workspace, status and limit filter the rows.',
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
        workspaces: z.array(rowSchema).describe('Workspace rows after filtering'),
      },
    },
    guarded(env, async (args) => {
      if (args.workspace !== undefined) parseWorkspaceName(args.workspace);
      const records = await readAllRecords(ctx);
      const { counts, workspaces } = statusReport(records, {
        workspace: args.workspace,
        status: args.status,
      });
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
        ...rows.map((w) => `${w.name} ${w.status}${w.question ? ` — ${w.question}` : ''}`),
      ];
      return okResult(lines.join('\n'), { ...rest, blocked, workspaces: rows });
    }),
  );

  server.registerTool(
    'agentic_resume',
    {
      title: 'Resume a workspace',
      description:
        'Queue a blocked, failed, completed or cancelled workspace again. An answer is written to ANSWER.md in the ' +
        'repository root for the agent to read; this session is notified again when the new run ends.',
      inputSchema: {
        workspace: workspaceArg,
        answer: z.string().optional().describe("Answer to the blocked agent's question"),
        agent: z
          .string()
          .optional()
          .describe('Switch to another agent base[:model] for the next run'),
      },
      outputSchema: outcomeShape,
    },
    guarded(env, async (args) => {
      parseWorkspaceName(args.workspace);
      const record = await resumeWorkspace(ctx, args.workspace, {
        answer: args.answer,
        agent: args.agent,
      });
      env.follow(args.workspace, record);
      return okResult(`queued ${args.workspace} again for ${record.agent}`, {
        success: true,
        workspace: args.workspace,
        status: record.status,
        agent: record.agent,
      });
    }),
  );

  server.registerTool(
    'agentic_cancel',
    {
      title: 'Cancel a workspace',
      description:
        'Cancel a queued, running or blocked workspace. A running agent gets SIGTERM and the workspace ends ' +
        'cancelled shortly after (status stays running until then).',
      inputSchema: { workspace: workspaceArg },
      outputSchema: {
        ...outcomeShape,
        message: z.string().describe('What happens next'),
      },
    },
    guarded(env, async (args) => {
      parseWorkspaceName(args.workspace);
      const record = await cancelWorkspace(ctx, args.workspace);
      const message =
        record.status === 'running'
          ? `stopping ${args.workspace}; it ends cancelled when the agent exits`
          : `${args.workspace}: ${record.status}`;
      return okResult(message, {
        success: true,
        workspace: args.workspace,
        status: record.status,
        agent: record.agent,
        message,
      });
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
        log_path: z.string().describe('Path of the log file'),
        lines: z.number().int().describe('Lines returned'),
        truncated: z.boolean().describe('True when earlier lines were left out'),
        text: z.string().describe('The lines, newline-separated'),
      },
    },
    guarded(env, async (args) => {
      const record = await requireRecord(env, args.workspace);
      const path = logPath(
        workspaceDir(ctx.config.workspaceRoot, args.workspace),
        poolOf(record.agent),
      );
      const tail = readLogTail(path, args.tail ?? 100);
      const text = tail.lines.join('\n');
      return okResult(text === '' ? `(no output yet from ${args.workspace})` : text, {
        workspace: args.workspace,
        status: record.status,
        log_path: path,
        lines: tail.lines.length,
        truncated: tail.truncated,
        text,
      });
    }),
  );

  server.registerTool(
    'agentic_commit',
    {
      title: 'Commit a workspace to its journal',
      description:
        "Append the workspace's current record to its journal (.meta/journal.jsonl) and the dispatch history for sync. " +
        'Idempotent: finished workspaces are committed automatically, so this usually reports skipped.',
      inputSchema: { workspace: workspaceArg },
      outputSchema: {
        success: z.boolean(),
        workspace: z.string(),
        journal_path: z.string(),
        marker_path: z.string(),
        committed_at: z.string().describe('When this version was committed (RFC 3339)'),
        skipped: z.boolean().describe('True when this version was already committed'),
      },
    },
    guarded(env, async (args) => {
      parseWorkspaceName(args.workspace);
      const result = await commitWorkspace(ctx, args.workspace);
      return okResult(
        result.skipped
          ? `${args.workspace}: already committed at ${result.committed_at}`
          : `${args.workspace}: committed to ${result.journal_path}`,
        { ...result },
      );
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
