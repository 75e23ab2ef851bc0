export { fenceViolation } from './fence.js';
export { readAllRecords } from './all-records.js';
export { readRecord, recordInTx } from './records.js';
export { rebuildRegistryFromDisk } from './rebuild.js';
export type { RebuildReport } from './rebuild.js';
export {
  queueEntryOf,
  queueEntrySchema,
  rebuildDerivedGroups,
  restoreRecords,
  trackCommitted,
  trackInTransaction,
  trackWorkspace,
} from './track.js';
export type { QueueEntry, Track } from './track.js';
