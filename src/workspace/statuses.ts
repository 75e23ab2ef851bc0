// The workspace statuses as plain constants: the CLI declares its options with them without
// loading zod or the record schema.

/** Every status a workspace can have (docs/ARCHITECTURE.md). */
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

/** True when a record is terminal and nothing more is owed on it (no closeout pending). */
export function isSettled(record: { status: Status; closeout?: string | undefined }): boolean {
  return isTerminal(record.status) && record.closeout !== 'pending';
}
