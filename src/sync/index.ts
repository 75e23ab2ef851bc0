export { BACKOFF_SCHEDULE_MS, backoffDelay, parseRetryAfter } from './queue/backoff.js';
export { DEFAULT_REQUEST_TIMEOUT_MS, HubClient } from './client.js';
export type { ContextAnswer, FetchLike, HubClientOptions, PushResult } from './client.js';
export { collectPending } from './queue/collect.js';
export type { Collected } from './queue/collect.js';
export type { SyncDeps } from './deps.js';
export { sendOnce, PUSH_WINDOW } from './send/send-once.js';
export type { SendResult } from './send/send-once.js';
export { DEFAULT_IDLE_INTERVAL_MS, SendLoop } from './send/send-loop.js';
export type { Sleep, SendLoopOptions } from './send/send-loop.js';
export { syncPaths } from './state/files.js';
export { holdAfterFailure, holdAfterSuccess, nextSendAt, sendableAt } from './queue/gate.js';
export type { EntryTiming } from './queue/gate.js';
export { leasedByOther } from './queue/entry-lease.js';
export type { LeaseOwner } from './queue/entry-lease.js';
export type { SyncPaths } from './state/files.js';
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
export type { ContextItem } from '../protocol/sync-wire.js';
export type { DroppedEntry, HistoryRecord, PushRecord, PushEntry, SyncMarks } from './schema.js';
export { createSyncService, SyncService } from './sync-service.js';
export type { PushReport, RetryDroppedReport, SyncServiceOptions } from './sync-service.js';
export { DEFAULT_MAX_ATTEMPTS, resolveSyncSettings } from './settings.js';
export type { SyncSettings } from './settings.js';
export { syncStatus } from './status.js';
export type { SyncStatusReport } from './status.js';
export { HISTORY_LIMIT } from './state/tx.js';
export type { MirrorMode, SyncTx, SyncState } from './state/tx.js';
