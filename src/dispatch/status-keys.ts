// Which fields of a workspace view each report shows, in the order JSON output shows them. Plain
// constants, shared by the zod description (status-schema.ts) and the projections
// (status-report.ts), so neither lists them again.

/** The fields that say what a run is: its status, agent, where it works and how often it ran. */
const RUN_KEYS = ['status', 'agent', 'repo', 'org', 'branch', 'runs'] as const;

/** A status row is the whole view but the exit code, which only the run's own reports carry. */
export const ROW_KEYS = [
  'name',
  ...RUN_KEYS,
  'pid',
  'node',
  'question',
  'started_at',
  'updated_at',
  'changes',
  'delivery',
  'pr_url',
  'node_affinity',
  'waiting',
] as const;

/** The fields of `agentic dispatch --json` after `workspace`. */
export const SUMMARY_KEYS = [...RUN_KEYS, 'question', 'exit_code', 'updated_at'] as const;

/** The fields of an MCP completion notice after `event` and `workspace`. */
export const NOTICE_KEYS = ['status', 'question', 'agent', 'repo', 'runs', 'exit_code'] as const;

/** The entries of `from` named by `keys`, in that order (the order JSON output shows). */
export function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, from[k]])) as Pick<T, K>;
}
