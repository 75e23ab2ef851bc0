export { readAllRecords, readRecord, rebuildRegistryFromDisk, scanDiskRecords } from './records.js';
export { queueEntryOf, rebuildDerivedGroups, trackWorkspace } from './track.js';
export type { QueueEntry } from './track.js';
