import { z } from 'zod';

/** Every status a workspace can have (DESIGN §2). */
export const STATUSES = [
  'queued',
  'running',
  'completed',
  'failed',
  'blocked',
  'merged',
  'cancelled',
] as const;
/** A workspace status. */
export type Status = (typeof STATUSES)[number];
/** Statuses that end a run. */
export const TERMINAL_STATUSES: readonly Status[] = [
  'completed',
  'failed',
  'blocked',
  'merged',
  'cancelled',
];

/** True for completed, failed, blocked, merged and cancelled. */
export function isTerminal(status: Status): boolean {
  return status !== 'queued' && status !== 'running';
}

const optionalString = z.string().optional();
const optionalInt = z.number().int().optional();

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
  node: optionalString,
  priority: z.number().int().default(0),
  queued_at: optionalString,
  exit_code: optionalInt,
  /** Where the repository was cloned from: a local path or a git URL. */
  source: optionalString,
  base_branch: optionalString,
  /** Why the runner signalled the agent: the finish reads it to pick the final status. */
  kill_reason: z.enum(['timeout', 'operator', 'cancel']).optional(),
  /** Set when a usage limit requeued the task: the next run is told to continue. */
  continue_prompt: z.boolean().optional(),
  /** How many times a usage limit requeued this workspace (bounded by `dispatch.max_requeues`). */
  usage_requeues: optionalInt,
});

/** A validated status record. */
export type StatusRecord = z.infer<typeof statusRecordSchema>;

/** The field names the schema knows; anything else on disk is preserved as-is. */
export const KNOWN_STATUS_FIELDS: ReadonlySet<string> = new Set(
  Object.keys(statusRecordSchema.shape),
);

/** The pool of an agent string `base[:model]`: the base. */
export function poolOf(agent: string): string {
  const i = agent.indexOf(':');
  return i < 0 ? agent : agent.slice(0, i);
}

/** The model of an agent string `base[:model]`: everything after the first colon, or undefined. */
export function modelOf(agent: string): string | undefined {
  const i = agent.indexOf(':');
  return i < 0 ? undefined : agent.slice(i + 1);
}

/** Identifies one version of a record: `<updated_at>#<runs>`. */
export function fingerprintOf(record: Pick<StatusRecord, 'updated_at' | 'runs'>): string {
  return `${record.updated_at}#${record.runs}`;
}

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
