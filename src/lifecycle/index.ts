export {
  readAllRecords,
  readRecord,
  rebuildRegistryFromDisk,
  registryRecord,
  scanDiskRecords,
} from './records.js';
export {
  queueEntryOf,
  queueEntrySchema,
  rebuildDerivedGroups,
  trackInTransaction,
  trackWorkspace,
} from './track.js';
export type { QueueEntry, Track } from './track.js';
