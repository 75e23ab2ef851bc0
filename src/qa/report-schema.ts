import { z } from 'zod';

/** How a check ended: `skipped` when its program is not installed, `timeout` when it was killed for running too long. */
export const CHECK_STATUSES = ['passed', 'failed', 'skipped', 'timeout'] as const;
/** How one check ended. */
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** One problem a linter or test runner reported, with the key that follows it from one QA cycle to the next. */
export const findingSchema = z.object({
  /** The name of the check that reported it. */
  tool: z.string(),
  /** Path relative to the repository root, `/`-separated ('' when the tool names no file). */
  file: z.string(),
  line: z.number().int().nonnegative(),
  column: z.number().int().nonnegative().optional(),
  /** The rule (`no-unused-vars`, `F401`) or, for a failing test, its description. */
  code: z.string(),
  severity: z.enum(['error', 'warning', 'info']),
  message: z.string(),
  /** `tool|file|line|code`. */
  fingerprint: z.string(),
});
/** One finding. */
export type Finding = z.infer<typeof findingSchema>;

/** One check's entry in the report. */
export const toolResultSchema = z.object({
  name: z.string(),
  kind: z.enum(['build', 'test', 'lint']),
  status: z.enum(CHECK_STATUSES),
  /** null when the program did not start or was killed by a signal. */
  exit_code: z.number().int().nullable(),
  duration_ms: z.number().nonnegative(),
  /** True when the check was detected from the repository rather than configured. */
  detected: z.boolean(),
  /** The argv that ran (or would have run). */
  command: z.array(z.string()),
  timeout_seconds: z.number().positive(),
  /** Full stdout+stderr of the check. */
  log_path: z.string().nullable(),
  /** The last few KB of its output, control characters removed. */
  output_tail: z.string(),
  findings: z.number().int().nonnegative(),
  /** Why it was skipped or not run, or why its output could not be parsed. */
  note: z.string().optional(),
});
/** One check's entry in the report. */
export type ToolResult = z.infer<typeof toolResultSchema>;

/** Findings of one rule (`tool|code`) across files. */
export const clusterSchema = z.object({
  tool: z.string(),
  code: z.string(),
  count: z.number().int().positive(),
  files: z.array(z.string()),
});
/** Findings of one rule across files. */
export type Cluster = z.infer<typeof clusterSchema>;

/** What the agent changed against its base, as the harvest counted it. */
export const changesSchema = z.object({
  commits: z.number().int().nonnegative(),
  files_changed: z.number().int().nonnegative(),
  insertions: z.number().int().nonnegative(),
  deletions: z.number().int().nonnegative(),
});
/** What the agent changed against its base. */
export type Changes = z.infer<typeof changesSchema>;

/** Counts for a one-glance view (the journal line and the hub carry these). */
export const qaSummarySchema = z.object({
  checks: z.number().int().nonnegative(),
  passed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  timeout: z.number().int().nonnegative(),
  findings: z.number().int().nonnegative(),
  /** Findings the parsers saw beyond the bound kept in `findings[]`. */
  findings_dropped: z.number().int().nonnegative(),
  new: z.number().int().nonnegative(),
  resolved: z.number().int().nonnegative(),
  persistent: z.number().int().nonnegative(),
});
/** Counts of a QA report. */
export type QaSummary = z.infer<typeof qaSummarySchema>;

/** `.meta/report.json`: the QA of one commit of a workspace. */
export const qaReportSchema = z.object({
  /** `org/repo/leaf`. */
  workspace: z.string(),
  /** The commit the checks ran on. */
  commit: z.string(),
  build_passed: z.boolean(),
  test_passed: z.boolean(),
  lint_passed: z.boolean(),
  /** Build and test passed; lint never gates. */
  passed: z.boolean(),
  tools: z.array(toolResultSchema),
  findings: z.array(findingSchema),
  summary: qaSummarySchema,
  /** One line for people, e.g. `QA passed: 2 checks (npm ci, npm test), 3 findings (1 new)`. */
  summary_text: z.string(),
  new: z.array(findingSchema),
  resolved: z.array(findingSchema),
  persistent: z.array(findingSchema),
  clusters: z.array(clusterSchema),
  changes: changesSchema,
  /** What detection found, or null when the checks were configured. */
  detected: z.string().nullable(),
  generated_at: z.string(),
});
/** A QA report. */
export type QaReport = z.infer<typeof qaReportSchema>;
