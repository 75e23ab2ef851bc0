export { checkSqliteIntegrity, fleetStoreUnreachable, openStateStore } from './open.js';
export type { OpenedStore, OpenStoreOptions } from './open.js';
export { compareQueueCursors, GROUPS, isFleet } from './types.js';
export type {
  ClaimLimits,
  ConcurrencySnapshot,
  EarlyCommit,
  EngineName,
  Group,
  OneCallOps,
  QueueClaimRequest,
  QueueClaimResult,
  QueueCursor,
  RunEndResult,
  RunEndWrite,
  StateStore,
  StatsQuery,
  StatsRow,
  StoreOps,
} from './types.js';
