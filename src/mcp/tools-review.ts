import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { acceptWorkspace, rejectWorkspace, reviewList, workspaceDiff } from '../deliver/index.js';
import { parseWorkspaceName, STATUSES } from '../workspace/index.js';
import { okResult } from './result.js';
import { guarded, type ToolEnv } from './tool-env.js';
import { workspaceArg } from './tools-workspace.js';

/** Longest diff returned in one result; `stat: true` summarises a bigger one. */
const MAX_DIFF = 200_000;

const changesShape = z
  .object({
    commits: z.number(),
    files_changed: z.number(),
    insertions: z.number(),
    deletions: z.number(),
  })
  .nullable();

/** Registers agentic_review, agentic_diff, agentic_accept and agentic_reject: the review loop. */
export function registerReviewTools(server: McpServer, env: ToolEnv): void {
  const { ctx } = env;
  server.registerTool(
    'agentic_review',
    {
      title: 'List work awaiting review',
      description:
        'Every workspace waiting for a human: finished work with commits not yet delivered (with its change size and QA verdict) and blocked workspaces with their question, oldest first.',
      inputSchema: {},
      outputSchema: {
        workspaces: z.array(
          z.object({
            workspace: z.string(),
            status: z.enum(STATUSES),
            task: z.string(),
            agent: z.string(),
            branch: z.string(),
            base_ref: z.string().nullable(),
            changes: changesShape,
            qa_passed: z.boolean().nullable(),
            qa_summary: z.string().nullable(),
            new_findings: z.number(),
            question: z.string().nullable(),
            pr_url: z.string().nullable(),
            updated_at: z.string(),
          }),
        ),
      },
    },
    guarded(env, async () => {
      const workspaces = await reviewList(ctx);
      return okResult(`${workspaces.length} workspace(s) awaiting review`, { workspaces });
    }),
  );

  server.registerTool(
    'agentic_diff',
    {
      title: "Show a workspace's change",
      description:
        "The agent's change as a unified diff against the commit it started from (stat: true for files and line counts only).",
      inputSchema: {
        workspace: workspaceArg,
        stat: z.boolean().optional().describe('Only the files and line counts'),
      },
      outputSchema: {
        workspace: z.string(),
        diff: z.string(),
        truncated: z.boolean().describe('True when the diff was cut; ask for stat: true'),
      },
    },
    guarded(env, async (args) => {
      parseWorkspaceName(args.workspace);
      const full = await workspaceDiff(ctx, args.workspace, { stat: args.stat === true });
      const truncated = full.length > MAX_DIFF;
      const diff = truncated ? full.slice(0, MAX_DIFF) : full;
      return okResult(diff === '' ? 'no changes' : diff, {
        workspace: args.workspace,
        diff,
        truncated,
      });
    }),
  );

  server.registerTool(
    'agentic_accept',
    {
      title: "Accept a workspace's work",
      description:
        'Deliver the work as a branch of the same name into the source repository (pushed for a URL source); with merge: true, also merge it into the base branch when that is safe (fast-forward, or a merge commit when deliver.merge_commit allows). Status becomes merged when merged.',
      inputSchema: {
        workspace: workspaceArg,
        merge: z.boolean().optional().describe('Also merge into the base branch'),
      },
      outputSchema: {
        success: z.boolean(),
        workspace: z.string(),
        status: z.enum(STATUSES),
        merged: z.boolean(),
        harvested: z
          .boolean()
          .describe('True when leftover uncommitted changes were committed first'),
        delivered: z
          .object({ mode: z.string(), ref: z.string(), sha: z.string(), at: z.string() })
          .nullable(),
        changes: changesShape,
      },
    },
    guarded(env, async (args) => {
      parseWorkspaceName(args.workspace);
      const { record, merged, harvested } = await acceptWorkspace(ctx, args.workspace, {
        merge: args.merge === true,
      });
      const delivered = record.delivered
        ? {
            mode: record.delivered.mode,
            ref: record.delivered.ref,
            sha: record.delivered.sha,
            at: record.delivered.at,
          }
        : null;
      return okResult(
        `${args.workspace}: ${merged ? 'merged into' : 'delivered as'} ${delivered?.ref ?? '?'}`,
        {
          success: true,
          workspace: args.workspace,
          status: record.status,
          merged,
          harvested,
          delivered,
          changes: record.changes ?? null,
        },
      );
    }),
  );

  server.registerTool(
    'agentic_reject',
    {
      title: "Reject a workspace's work",
      description:
        'End a finished or blocked workspace cancelled with a reason; its clone and branch stay until cleaned.',
      inputSchema: {
        workspace: workspaceArg,
        reason: z
          .string()
          .max(2000)
          .optional()
          .describe('Why (kept as its question and journaled)'),
      },
      outputSchema: {
        success: z.boolean(),
        workspace: z.string(),
        status: z.enum(STATUSES),
        question: z.string().nullable(),
      },
    },
    guarded(env, async (args) => {
      parseWorkspaceName(args.workspace);
      const record = await rejectWorkspace(ctx, args.workspace, args.reason);
      return okResult(`${args.workspace}: ${record.status}`, {
        success: true,
        workspace: args.workspace,
        status: record.status,
        question: record.question ?? null,
      });
    }),
  );
}
