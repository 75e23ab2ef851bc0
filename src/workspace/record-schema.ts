// The zod schemas of the status record. Only code that validates a record imports this module:
// the rest uses record.ts, so that a command with nothing to validate never loads zod.
import { z } from 'zod';
import { STATUSES } from './statuses.js';

const optionalString = z.string().optional();
const optionalInt = z.number().int().optional();
const count = z.number().int().nonnegative();

/** What an agent changed against the base it started from. */
export const changesSchema = z.object({
  commits: count,
  files_changed: count,
  insertions: count,
  deletions: count,
});
/** A workspace's change size. */
export type Changes = z.infer<typeof changesSchema>;

/**
 * Tokens and cost an agent CLI reported: input tokens (cache reads and writes included), output
 * tokens, and the cost in US dollars when the CLI states one.
 */
export const tokenUsageSchema = z.looseObject({
  input_tokens: count,
  output_tokens: count,
  cost_usd: z.number().nonnegative().optional(),
});
/** Token usage and cost. */
export type TokenUsage = z.infer<typeof tokenUsageSchema>;

/** The QA outcome kept on the record (the whole report is `.meta/report.json`). */
export const qaOutcomeSchema = z.looseObject({
  passed: z.boolean(),
  summary_text: z.string(),
  new_findings: count.default(0),
});

/** Where the work was handed back: mode, the ref it now lives at, its commit, and when. */
export const deliveredSchema = z.looseObject({
  mode: z.string(),
  ref: z.string(),
  sha: z.string(),
  at: z.string(),
});
/** A delivery record. */
export type Delivered = z.infer<typeof deliveredSchema>;

/**
 * The durable state of waiting for a pull request's checks before merging it (`deliver.mode:
 * merge`): kept on the record, not in a timer, so a runner that restarts resumes the same wait
 * with the same deadline.
 */
export const checksWaitSchema = z.looseObject({
  /** The commit whose checks are awaited (what was last pushed to the pull request). */
  sha: z.string(),
  /** When this wait began, and when it gives up and asks for review (ISO times). */
  since: z.string(),
  deadline: z.string(),
  /** When the forge is asked next; a rate limit moves it to the forge's retry time. */
  next_poll_at: z.string(),
  /** The current poll interval; it doubles up to `deliver.checks_poll.max_seconds`. */
  interval_ms: count,
  /** True once the branch was rebased onto the fresh base after red checks or a conflict. */
  rebased: z.boolean().default(false),
});
/** A checks wait. */
export type ChecksWait = z.infer<typeof checksWaitSchema>;

/**
 * The status record (status.json and the `registry` group), snake_case as in the source
 * system. Unknown fields pass through untouched so a newer writer's data is never lost.
 */
export const statusRecordSchema = z.looseObject({
  status: z.enum(STATUSES),
  agent: z.string(),
  repo: z.string(),
  org: z.string(),
  task: z.string().default(''),
  branch: z.string().default(''),
  issue: optionalInt,
  pr: optionalInt,
  pid: optionalInt,
  pid_start: optionalString,
  process_id: optionalString,
  started_at: optionalString,
  updated_at: z.string(),
  question: optionalString,
  runs: z.number().int().nonnegative().default(0),
  pr_url: optionalString,
  /** The number of the pull request the work was delivered as (GitLab: the merge request IID). */
  pr_number: optionalInt,
  node: optionalString,
  /**
   * Fleet mode: the only node that may claim this record while it is queued — the enqueuing
   * node for a local-path source, the node holding the clone for a resume, or `--node`.
   */
  node_affinity: optionalString,
  /**
   * Why `node_affinity` names its node, when only because the workspace's clone is there (a
   * resume): such a pin is dropped when that node is lost and the run starts over elsewhere.
   */
  affinity_reason: z.literal('workspace').optional(),
  /** Fleet fencing token: raised each time a live node takes the record over from a dead one. */
  epoch: optionalInt,
  priority: z.number().int().default(0),
  queued_at: optionalString,
  exit_code: optionalInt,
  /** Where the repository was cloned from: a local path or a git URL. */
  source: optionalString,
  /** The branch (or commit) the agent branch started from, and its commit at clone time. */
  base_ref: optionalString,
  base_sha: optionalString,
  /** Hand-back mode chosen at dispatch (`--deliver`); agents.yaml decides when absent. */
  deliver: optionalString,
  /** Set while the closeout (harvest, QA, hand-back) of a completed run is owed. */
  closeout: z.literal('pending').optional(),
  /** QA fix rounds used: how often a failing QA resumed the agent. */
  qa_round: optionalInt,
  /** CI fix rounds used: how often failing pull request checks resumed the agent. */
  ci_round: optionalInt,
  /** Set while a pull request's checks are awaited before merging it (the closeout stays pending). */
  checks_wait: checksWaitSchema.optional(),
  changes: changesSchema.optional(),
  qa: qaOutcomeSchema.optional(),
  delivered: deliveredSchema.optional(),
  /** Why the runner signalled the agent: the finish reads it to pick the final status. */
  kill_reason: z.enum(['timeout', 'operator', 'cancel']).optional(),
  /** Set when a usage limit requeued the task: the next run is told to continue. */
  continue_prompt: z.boolean().optional(),
  /** How many times a usage limit requeued this workspace (bounded by `dispatch.max_requeues`). */
  usage_requeues: optionalInt,
  /** Tokens and cost the agent CLI reported, summed over every run of this workspace. */
  usage: tokenUsageSchema.optional(),
  /** The agent CLI's conversation id from its last run (claude's session, codex's thread). */
  session_id: optionalString,
  /** The conversation's own total so far: what a resumed run's cumulative figures are measured against. */
  session_usage: tokenUsageSchema.optional(),
  /** Set by a resume: the next run continues this conversation instead of starting afresh. */
  resume_session: optionalString,
  /**
   * An answer given by `resume --answer`, kept until a run starts: the node that starts it
   * writes it to repo/ANSWER.md first (in a fleet the resume may be given on another node than
   * the one holding the clone).
   */
  pending_answer: optionalString,
  /**
   * The answer a run started with, kept after the start clears `pending_answer`: a run that starts
   * over in a fresh clone (its node was lost) gets it back as ANSWER.md.
   */
  last_answer: optionalString,
});

/** A validated status record. */
export type StatusRecord = z.infer<typeof statusRecordSchema>;

/** The field names the schema knows; anything else on disk is preserved as-is. */
export const KNOWN_STATUS_FIELDS: ReadonlySet<string> = new Set(
  Object.keys(statusRecordSchema.shape),
);

/**
 * A registry value as a record. Values were validated when trackWorkspace wrote them, so the
 * common case is a cheap shape check; anything unusual goes through the full schema.
 */
export function registryRecord(value: unknown): StatusRecord | undefined {
  if (typeof value === 'object' && value !== null) {
    const v = value as Partial<Record<keyof StatusRecord, unknown>>;
    if (
      typeof v.status === 'string' &&
      (STATUSES as readonly string[]).includes(v.status) &&
      typeof v.agent === 'string' &&
      typeof v.repo === 'string' &&
      typeof v.org === 'string' &&
      typeof v.task === 'string' &&
      typeof v.branch === 'string' &&
      typeof v.updated_at === 'string' &&
      typeof v.runs === 'number' &&
      typeof v.priority === 'number'
    ) {
      return value as StatusRecord;
    }
  }
  const parsed = statusRecordSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
