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
  changesSchema,
  deliveredSchema,
  fingerprintOf,
  isSettled,
  isTerminal,
  KNOWN_STATUS_FIELDS,
  modelOf,
  poolOf,
  registryRecord,
  STATUSES,
  statusRecordSchema,
  TERMINAL_STATUSES,
} from './record.js';
export type { Changes, ChecksWait, Delivered, Status, StatusRecord, TokenUsage } from './record.js';
export {
  carriesMirrorMark,
  isCurrentMirror,
  parseStatusText,
  readStatusFile,
  STATUS_FILE,
  statusPath,
  writeStatusFile,
  writeStatusFiles,
} from './status-file.js';
export type { StatusRead } from './status-file.js';
export { queueEntryOf } from './queue-entry.js';
export type { QueueEntry } from './queue-entry.js';
