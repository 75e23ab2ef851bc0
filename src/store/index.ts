export { checkSqliteIntegrity, fleetStoreUnreachable, openStateStore } from './open.js';
export type { OpenedStore, OpenStoreOptions } from './open.js';
export { compareQueueCursors, GROUPS, isFleet } from './types.js';
export type {
  ConcurrencySnapshot,
  EarlyCommit,
  EngineName,
  Group,
  QueueCursor,
  StateStore,
  StatsQuery,
  StatsRow,
  StoreOps,
} from './types.js';
