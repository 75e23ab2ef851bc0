export {
  readAllRecords,
  readRecord,
  rebuildRegistryFromDisk,
  recordInTx,
  scanDiskRecords,
} from './records.js';
export {
  queueEntryOf,
  queueEntrySchema,
  rebuildDerivedGroups,
  trackCommitted,
  trackInTransaction,
  trackWorkspace,
} from './track.js';
export type { QueueEntry, Track } from './track.js';
