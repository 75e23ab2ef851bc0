import { z } from 'zod';
import { DELIVER_MODES } from '../config/index.js';

/** Longest accepted fleet node id (as the hub accepts them). */
export const MAX_NODE_ID_LENGTH = 256;

// A node id is a hostname or CORE_AGENT_FLEET_NODE_ID: one word, never option-like.
const NODE_ID = /^[^\s\p{Cc}-][^\s\p{Cc}]*$/u;

/** Longest accepted task text. */
export const MAX_TASK_LENGTH = 200_000;

/**
 * The fields of a dispatch, each with the text a caller sees: the MCP tool publishes this shape
 * as its input schema and {@link dispatchInputSchema} checks every dispatch with it. Names,
 * branches, agents and the repository are checked further when the dispatch is queued.
 */
export const dispatchInputShape = {
  repo: z
    .string()
    .min(1, 'must not be empty')
    .describe(
      "Local git repository (absolute path, or relative to the MCP server's working directory) or a git URL",
    ),
  // Checked but not trimmed: the text is the prompt (or the shell agent's script) as given.
  task: z
    .string()
    .refine((t) => t.trim() !== '', 'must not be empty')
    .max(MAX_TASK_LENGTH, `must be at most ${MAX_TASK_LENGTH} characters`)
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
    .min(-1000, 'must be an integer from -1000 to 1000')
    .max(1000, 'must be an integer from -1000 to 1000')
    .optional()
    .describe('Higher runs first; -1000 to 1000 (default 0)'),
  base: z
    .string()
    .optional()
    .describe("Branch or commit the agent starts from (default: the source's current branch)"),
  deliver: z
    .enum(DELIVER_MODES, {
      error: (issue) =>
        `must be one of ${DELIVER_MODES.join(', ')} (got ${JSON.stringify(issue.input)})`,
    })
    .optional()
    .describe(
      'Hand-back when the work is done: none (await review), branch (into the source repository) or pr (a pull request against the base branch, for a URL source on GitHub, GitLab or Gitea/Forgejo); default deliver.mode in agents.yaml',
    ),
  node: z
    .string()
    .max(MAX_NODE_ID_LENGTH, `must be at most ${MAX_NODE_ID_LENGTH} characters`)
    .regex(
      NODE_ID,
      'must be a fleet node id: no spaces or control characters, not starting with "-"',
    )
    .optional()
    .describe(
      "Fleet mode (PostgreSQL store): the node that must run the task (default: the enqueuing node for a local repository path, any node for a URL); work pinned to a node that is not live waits for it. The embedded store has one node: only this node's id is accepted",
    ),
};

/** A dispatch as callers give it; unknown keys are dropped. */
export const dispatchInputSchema = z.object(dispatchInputShape);

/**
 * What a caller asks to dispatch. `deliver` is any string here (the CLI passes its option as
 * given; the schema refuses an unknown mode), and `cwd` is the directory a relative `repo`
 * path is resolved against (default: this process's cwd).
 */
export type DispatchInput = Omit<z.input<typeof dispatchInputSchema>, 'deliver'> & {
  deliver?: string | undefined;
  cwd?: string | undefined;
};
