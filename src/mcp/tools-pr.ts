import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { acceptWorkspace, driveChecksWait, pullRequestStatus } from '../deliver/index.js';
import { parseWorkspaceName, STATUSES } from '../workspace/index.js';
import { okResult } from './result.js';
import { guarded, type ToolEnv } from './tool-env.js';
import { workspaceArg } from './tools-workspace.js';

const CHECK_STATES = ['pending', 'success', 'failure'] as const;

/** Registers agentic_create_pr and agentic_pr_status: pull requests on the source's forge. */
export function registerPullRequestTools(server: McpServer, env: ToolEnv): void {
  const { ctx } = env;
  server.registerTool(
    'agentic_create_pr',
    {
      title: "Open a pull request for a workspace's work",
      description:
        "Push the agent branch to the source's forge (GitHub, GitLab, Gitea/Forgejo; the repository must have been dispatched from its URL) and open a pull request against the branch the work started from, whatever deliver.mode says. Calling it again (e.g. after a resume) updates the same pull request. With merge: true its checks are awaited and it is merged when they pass (red: the deliver.fix_rounds / rebase-once / needs-review path).",
      inputSchema: {
        workspace: workspaceArg,
        merge: z
          .boolean()
          .optional()
          .describe(
            'Also wait for its checks and merge it when they pass (as deliver.mode: merge). Returns at once; agentic_status shows the workspace checking until it is merged or needs review',
          ),
      },
      outputSchema: {
        success: z.boolean(),
        workspace: z.string(),
        status: z.enum(STATUSES),
        pr_url: z.string(),
        pr_number: z.number(),
        sha: z.string().describe('The commit the pull request now holds'),
      },
    },
    guarded(env, async (args) => {
      parseWorkspaceName(args.workspace);
      const verify = args.merge === true;
      const { record } = await acceptWorkspace(ctx, args.workspace, { pr: true, verify });
      // The wait is on the record: this server polls it while it lives, a runner start after it.
      if (verify)
        void driveChecksWait(ctx, args.workspace).catch((err: unknown) =>
          ctx.logger.warn(
            { workspace: args.workspace, err: String(err) },
            'checks wait stopped; the next runner start carries it on',
          ),
        );
      const pr_url = record.pr_url ?? '';
      return okResult(`${args.workspace}: pull request #${record.pr_number ?? '?'} ${pr_url}`, {
        success: true,
        workspace: args.workspace,
        status: record.status,
        pr_url,
        pr_number: record.pr_number ?? 0,
        sha: record.delivered?.sha ?? '',
      });
    }),
  );

  server.registerTool(
    'agentic_pr_status',
    {
      title: "Show a workspace's pull request",
      description:
        'The state of the pull request a workspace was delivered as (open, closed or merged; draft; mergeable) and the CI checks on its head commit, as the forge reports them now.',
      inputSchema: { workspace: workspaceArg },
      outputSchema: {
        workspace: z.string(),
        pr_url: z.string(),
        pr_number: z.number(),
        state: z.enum(['open', 'closed', 'merged']),
        draft: z.boolean(),
        title: z.string(),
        head: z.string(),
        base: z.string(),
        mergeable: z.boolean().nullable(),
        checks: z.object({
          state: z.enum(['pending', 'success', 'failure', 'none']),
          checks: z.array(
            z.object({
              name: z.string(),
              state: z.enum(CHECK_STATES),
              url: z.string().optional(),
              summary: z.string().optional(),
            }),
          ),
        }),
        delivery_error: z.string().nullable(),
      },
    },
    guarded(env, async (args) => {
      parseWorkspaceName(args.workspace);
      const pr = await pullRequestStatus(ctx, args.workspace);
      return okResult(
        `${args.workspace}: pull request #${pr.pr_number} ${pr.state}, checks ${pr.checks.state}: ${pr.pr_url}`,
        { ...pr },
      );
    }),
  );
}
