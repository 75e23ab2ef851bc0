import { z } from 'zod';
import { BUILT_IN_AGENTS, DELIVER_MODES, FORGE_KINDS, MERGE_METHODS } from './constants.js';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** Placeholders `dispatch.prompt_template` may use. */
export const PROMPT_PLACEHOLDERS: readonly string[] = [
  'task',
  'branch',
  'base',
  'workspace',
  'repo_dir',
];

/** `concurrency.<pool>`: a pool total, or `{total, <model>: n}` with per-model sub-limits. */
export const concurrencyEntrySchema = z.union(
  [positiveInt, z.object({ total: positiveInt }).catchall(positiveInt)],
  { error: 'expected a positive integer, or a map {total: N, <model>: M} of positive integers' },
);

/** `rates.<pool>`: daily cap and pacing, all delays in seconds, `burst_window` in hours before the reset. */
export const rateSchema = z.strictObject({
  daily_limit: nonNegativeInt.optional(),
  reset_utc: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (UTC), e.g. "06:00"')
    .default('00:00'),
  min_delay: nonNegativeInt.default(0),
  sustained_delay: nonNegativeInt.default(0),
  burst_window: nonNegativeInt.default(0),
  burst_delay: nonNegativeInt.default(0),
});

/** `dispatch.failure_backoff`: how many fast failures pause a pool, and for how long. */
export const failureBackoffSchema = z.strictObject({
  count: nonNegativeInt.default(3),
  within_seconds: z.number().positive().default(60),
  pause_minutes: z.number().positive().default(30),
});

/**
 * `agents.<name>`: a custom agent command with `{prompt}`, `{prompt_file}`, `{model}`,
 * `{workspace}`, `{repo_dir}` placeholders, or, for a built-in agent, settings on top of its
 * built-in command (`env`, `extra_args`, a default `model`) with `command` left out.
 */
export const customAgentSchema = z.strictObject({
  command: z.array(z.string().min(1)).min(1, 'expected a non-empty argv array').optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.enum(['repo', 'workspace']).default('repo'),
  /** Arguments added after the agent's own flags (built-in or `command`). */
  extra_args: z.array(z.string()).optional(),
  /** The model used when the agent string has no `:model` suffix. */
  model: z
    .string()
    .regex(/^[^\s-][^\s]*$/, 'expected a model name (no spaces, not starting with "-")')
    .optional(),
  /** `prompt` feeds the prompt file to the agent's stdin (long prompts never touch argv). */
  stdin: z.enum(['none', 'prompt']).default('none'),
});

/** One QA check: an argv run in the clone, with a timeout, a kind and how its output is parsed. */
export const qaCheckSchema = z.strictObject({
  name: z.string().min(1),
  run: z.array(z.string().min(1)).min(1, 'expected a non-empty argv array'),
  timeout_seconds: z.number().positive().default(600),
  kind: z.enum(['build', 'test', 'lint']).default('test'),
  parse: z.enum(['eslint-json', 'ruff-json', 'tap', 'none']).default('none'),
});

/** `qa: off` (or false) turns QA off; a map lists checks (none listed = detect them). */
const qaOff = z.union([z.literal('off'), z.literal(false)]);
const qaSettingsSchema = z.strictObject({
  checks: z.array(qaCheckSchema).optional(),
  /** How many times a failing QA resumes the agent with the failure as its answer. */
  fix_rounds: nonNegativeInt.optional(),
});

/** `qa:` in agents.yaml: global settings plus per-repo ones keyed by workspace `org/repo`. */
export const qaSchema = z.union([
  qaOff,
  qaSettingsSchema.extend({
    repos: z.record(z.string(), z.union([qaOff, qaSettingsSchema])).default({}),
  }),
]);

/** How often the checks of a pull request are asked for: the first wait, doubling up to the cap. */
const checksPollSchema = z.strictObject({
  first_seconds: z.number().positive().default(5),
  max_seconds: z.number().positive().default(60),
  /** How long "no checks at all" is taken for CI that has not registered yet (forges add check runs a few seconds after a push). */
  appear_seconds: z.number().nonnegative().default(30),
});
const deliverSettingsSchema = z.strictObject({
  mode: z.enum(DELIVER_MODES).optional(),
  /** Merge with a merge commit when a fast-forward is not possible (`accept --merge`). */
  merge_commit: z.boolean().optional(),
  /** `mode: merge`: how the forge merges the pull request (default merge). */
  merge_method: z.enum(MERGE_METHODS).optional(),
  /** `mode: merge`: with no checks on the remote, false merges on the local QA result instead of asking for review (default true). */
  require_checks: z.boolean().optional(),
  /** `mode: merge`: how long to wait for the checks before asking for review (default 60). */
  checks_timeout_minutes: z.number().positive().optional(),
  /** `mode: merge`: how many times failing checks resume the agent with the failures as its answer (default 0). */
  fix_rounds: nonNegativeInt.optional(),
  checks_poll: checksPollSchema.optional(),
});

/** `deliver:` in agents.yaml: global settings plus per-repo ones keyed by workspace `org/repo`. */
export const deliverSchema = deliverSettingsSchema.extend({
  /** Committer of the harvest commit; default the source repository's user, else agentic. */
  identity: z.strictObject({ name: z.string().min(1), email: z.string().min(1) }).optional(),
  repos: z.record(z.string(), deliverSettingsSchema).default({}),
});

/**
 * `forges[]`: a self-hosted forge, matched by the remote URL's host as written (with its port
 * when it has one). `api_url` defaults to the kind's usual API root on that host; the token comes
 * from `token_env` or `token_file`, else the kind's usual variables (e.g. `GITEA_TOKEN`).
 */
export const forgeSchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .regex(
        /^[^/\s@]+$/,
        'expected a host as written in the remote URL, e.g. "git.example.com:3000"',
      ),
    kind: z.enum(FORGE_KINDS),
    api_url: z.url().optional(),
    token_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
      .optional(),
    token_file: z.string().min(1).optional(),
  })
  .refine((f) => f.token_env === undefined || f.token_file === undefined, {
    message: 'give token_env or token_file, not both',
  });

/** The whole agents.yaml file. Unknown keys are errors (with a did-you-mean hint). */
export const agentsFileSchema = z.strictObject({
  version: z.literal(1).optional(),
  dispatch: z
    .strictObject({
      default_agent: z.string().min(1).default('claude'),
      default_org: z.string().min(1).default('core'),
      workspace_root: z.string().min(1).optional(),
      timeout_minutes: z.number().positive().default(60),
      kill_grace_seconds: z.number().positive().default(30),
      default_concurrency: positiveInt.default(2),
      /** Replaces the preamble of every agent prompt; `{task}`, `{branch}`, `{workspace}`, `{repo_dir}`, `{base}` are filled in. */
      prompt_template: z
        .string()
        .min(1)
        .refine((t) => t.includes('{task}'), 'must contain {task}')
        .refine(
          (t) =>
            [...t.matchAll(/\{([a-z_]+)\}/g)].every((m) =>
              PROMPT_PLACEHOLDERS.includes(m[1] ?? ''),
            ),
          `may use only the placeholders {task}, {branch}, {base}, {workspace}, {repo_dir}`,
        )
        .optional(),
      /** How many times one workspace is requeued for a usage limit before it fails with the reason. */
      max_requeues: nonNegativeInt.default(5),
      /** Fleet mode: a running task whose node's lease expired is queued again (true) or failed "node <id> lost" (false). */
      requeue_on_node_loss: z.boolean().default(true),
      /** Fast-failure back-off (docs/ARCHITECTURE.md): `count` failures within `within_seconds` of their start pause the pool; 0 turns it off. */
      failure_backoff: failureBackoffSchema.prefault({}),
    })
    .prefault({}),
  concurrency: z.record(z.string(), concurrencyEntrySchema).default({}),
  rates: z.record(z.string(), rateSchema).default({}),
  agents: z
    .record(z.string(), customAgentSchema)
    .default({})
    .superRefine((agents, ctx) => {
      for (const [name, agent] of Object.entries(agents)) {
        if (agent.command === undefined && !(BUILT_IN_AGENTS as readonly string[]).includes(name))
          ctx.addIssue({
            code: 'custom',
            path: [name, 'command'],
            message: `expected a command: "${name}" is not a built-in agent (${BUILT_IN_AGENTS.join(', ')})`,
          });
      }
    }),
  qa: qaSchema.default({ repos: {} }),
  deliver: deliverSchema.prefault({}),
  forges: z.array(forgeSchema).default([]),
  sync: z
    .strictObject({
      url: z.url().optional(),
      token_file: z.string().min(1).optional(),
      agent_id: z.string().min(1).optional(),
      fleet_node_id: z.string().min(1).optional(),
      batch_size: positiveInt.max(500).default(500),
      max_attempts: positiveInt.optional(),
    })
    .prefault({}),
  store: z
    .strictObject({
      url: z.string().min(1).optional(),
    })
    .prefault({}),
  /** The node lease: how often a runner heartbeats, and how long other nodes wait before they judge it dead. */
  fleet: z
    .strictObject({
      heartbeat_seconds: z.number().positive().default(5),
      lease_seconds: z.number().positive().default(30),
    })
    .refine((f) => f.lease_seconds > f.heartbeat_seconds * 2, {
      message: 'lease_seconds must be more than twice heartbeat_seconds',
    })
    .prefault({}),
});

/** agents.yaml after validation, with defaults filled in. */
export type AgentsFile = z.infer<typeof agentsFileSchema>;
/** One validated `concurrency.<pool>` entry. */
export type ConcurrencyEntry = z.infer<typeof concurrencyEntrySchema>;
/** One validated `rates.<pool>` entry. */
export type RateConfig = z.infer<typeof rateSchema>;
/** One validated QA check. */
export type QaCheckConfig = z.infer<typeof qaCheckSchema>;
/** A hand-back mode. */
export type DeliverMode = (typeof DELIVER_MODES)[number];
/** A merge method of `deliver.merge_method`. */
export type MergeMethodSetting = (typeof MERGE_METHODS)[number];
/** One validated `forges[]` entry. */
export type ForgeConfig = z.infer<typeof forgeSchema>;
/** A forge kind. */
export type ForgeKind = (typeof FORGE_KINDS)[number];
/** One validated custom agent. */
export type CustomAgentConfig = z.infer<typeof customAgentSchema>;
