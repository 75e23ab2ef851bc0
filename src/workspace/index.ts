export { discoverWorkspaces } from './discover.js';
export {
  leafFor,
  MAX_SEGMENT_LENGTH,
  parseWorkspaceName,
  validateBranch,
  validateSegment,
  workspaceDir,
  workspaceName,
} from './name.js';
export type { WorkspaceParts } from './name.js';
export {
  fingerprintOf,
  isSettled,
  isTerminal,
  modelOf,
  poolOf,
  STATUSES,
  TERMINAL_STATUSES,
} from './record.js';
export type { Changes, ChecksWait, Delivered, Status, StatusRecord, TokenUsage } from './record.js';
export type { StatusRead } from './status-file.js';
export { queueEntryOf } from './queue-entry.js';
export type { QueueEntry } from './queue-entry.js';
// The record schemas (record-schema.ts) and the status.json reader and writer (status-file.ts,
// which validates with them) are imported from their own files: they load zod, and a command
// with nothing to validate must not pay for it.
