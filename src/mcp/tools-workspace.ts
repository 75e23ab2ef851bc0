import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { cancelWorkspace, resumeWorkspace } from '../dispatch/control.js';
import { dispatchInputShape } from '../dispatch/dispatch-input.js';
import { continuedNote, enqueueDispatch } from '../dispatch/enqueue.js';
import { commitWorkspace } from '../lifecycle/commit.js';
import { parseWorkspaceName, STATUSES } from '../workspace/index.js';
import { okResult } from './result.js';
import { guarded, type ToolEnv } from './tool-env.js';

/** The `workspace` argument every per-workspace tool takes. */
export const workspaceArg = z
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

/** Registers agentic_dispatch, agentic_resume, agentic_cancel and agentic_commit: the tools that change a workspace. */
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
      inputSchema: dispatchInputShape,
      outputSchema: {
        ...outcomeShape,
        repo: z.string().describe('Repository segment of the workspace name'),
        branch: z.string().describe('Branch the agent works on'),
      },
    },
    guarded(env, async (args) => {
      const { workspace, record, continued } = await enqueueDispatch(ctx, {
        ...args,
        cwd: env.cwd,
      });
      env.follow(workspace, record);
      const note = continued ? `; ${continuedNote(workspace, continued)}` : '';
      return okResult(`queued ${workspace} for ${record.agent}${note}`, {
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
