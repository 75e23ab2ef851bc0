// The zod description of a workspace as operators and lead agents see it (MCP output schemas and
// the tests that check `--json` output). The projections that fill these shapes are in
// status-report.ts, which does not load zod: `agentic status` on its own never needs it.
import { z } from 'zod';
import { STATUSES } from '../workspace/statuses.js';
import { changesSchema } from '../workspace/record-schema.js';
import { NOTICE_KEYS, pick, ROW_KEYS, SUMMARY_KEYS } from './status-keys.js';

/** Every field a workspace view can carry, each described once. */
const workspaceFields = {
  name: z.string(),
  status: z.enum(STATUSES),
  agent: z.string(),
  repo: z.string(),
  org: z.string(),
  branch: z.string(),
  runs: z.number().int(),
  pid: z.number().int().nullable(),
  node: z
    .string()
    .nullable()
    .describe('The node that runs or last ran it; its pid and log are on that machine'),
  question: z.string().nullable(),
  started_at: z.string().nullable(),
  updated_at: z.string(),
  changes: changesSchema
    .nullable()
    .describe('What the agent changed against its base, once harvested'),
  delivery: z
    .enum(['checking', 'awaiting review', 'delivered'])
    .nullable()
    .describe('checking (closeout running), awaiting review, delivered, or null'),
  pr_url: z.string().nullable().describe('The pull request the work was delivered as'),
  node_affinity: z
    .string()
    .nullable()
    .describe('Fleet mode: the only node that may run it (a local path, a resume, or --node)'),
  waiting: z
    .string()
    .nullable()
    .describe('Why queued work cannot start anywhere yet, e.g. its node is not live'),
  exit_code: z.number().int().nullable().describe("The agent's exit code of the last run"),
};

/** A record seen from outside, every optional field null. */
export type WorkspaceView = {
  [K in keyof typeof workspaceFields]: z.infer<(typeof workspaceFields)[K]>;
};

/** Every field a view can carry; each report below shows some of them. */
export const workspaceViewSchema = z.object(workspaceFields);

/** One workspace row of `agentic status --json` and of the MCP status tool. */
export const workspaceRowSchema = z.object(pick(workspaceFields, ROW_KEYS));
/** One workspace row of `agentic status --json`. */
export type StatusRow = z.infer<typeof workspaceRowSchema>;

/** What `agentic dispatch --json` prints about the workspace it queued (or waited for). */
export const dispatchSummarySchema = z.object({
  workspace: workspaceFields.name,
  ...pick(workspaceFields, SUMMARY_KEYS),
});
/** See {@link dispatchSummarySchema}. */
export type DispatchSummary = z.infer<typeof dispatchSummarySchema>;

/** The data of an MCP completion notification (a `notifications/message` with logger `agentic`). */
export const completionNoticeSchema = z.object({
  event: z.literal('dispatch_finished'),
  workspace: workspaceFields.name,
  ...pick(workspaceFields, NOTICE_KEYS),
});
/** See {@link completionNoticeSchema}. */
export type CompletionNotice = z.infer<typeof completionNoticeSchema>;
