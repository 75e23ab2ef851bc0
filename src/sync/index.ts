export { BACKOFF_SCHEDULE_MS, backoffDelay, parseRetryAfter } from './backoff.js';
export { DEFAULT_REQUEST_TIMEOUT_MS, HubClient } from './client.js';
export type { ContextAnswer, FetchLike, HubClientOptions, PushResult } from './client.js';
export { collectPending } from './collect.js';
export type { Collected } from './collect.js';
export type { SyncDeps } from './deps.js';
export { drainPass, PUSH_WINDOW } from './drain.js';
export type { DrainResult } from './drain.js';
export { DEFAULT_IDLE_INTERVAL_MS, SyncDrainer } from './drainer.js';
export type { Sleep, SyncDrainerOptions } from './drainer.js';
export { syncPaths } from './files.js';
export { holdAfterFailure, holdAfterSuccess, nextSendAt, sendableAt } from './gate.js';
export type { EntryTiming } from './gate.js';
export { leasedByOther } from './lease.js';
export type { LeaseOwner } from './lease.js';
export type { SyncPaths } from './files.js';
export { withLockFile } from './lock-file.js';
export {
  CONTEXT_LIMIT,
  isRfc3339,
  MAX_PULL_PAGES,
  mergeContext,
  NOTE_LIMIT,
  pullContext,
  readContextCache,
} from './pull.js';
export type { PullResult } from './pull.js';
export type {
  ContextItem,
  DroppedEntry,
  HistoryRecord,
  PushRecord,
  QueueEntry,
  SyncMarks,
} from './schema.js';
export { createSyncService, SyncService } from './service.js';
export type { PushReport, RetryDroppedReport, SyncServiceOptions } from './service.js';
export { DEFAULT_MAX_ATTEMPTS, resolveSyncSettings } from './settings.js';
export type { SyncSettings } from './settings.js';
export { syncStatus } from './status.js';
export type { SyncStatusReport } from './status.js';
export { HISTORY_LIMIT } from './tx.js';
export type { MirrorMode, SyncTx, SyncTxRunner } from './tx.js';
