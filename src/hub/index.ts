export {
  createHubApp,
  DEFAULT_IDEMPOTENCY_RETENTION_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_RECORDS,
} from './app.js';
export type { HubAppOptions } from './app.js';
export type { Principal } from './auth.js';
export { dashboardData } from './dashboard.js';
export type { DashboardData, DashboardDispatch, DashboardNode } from './dashboard.js';
export { DASHBOARD_REFRESH_MS } from './dashboard-page.js';
export { dashboardFleet } from './fleet.js';
export type { DashboardFleet, DashboardFleetNode, FleetReader, FleetReadingNode } from './fleet.js';
export { toErrorResponse } from './http-errors.js';
export type { ErrorBody } from './http-errors.js';
export { isPostgresUrl, openHubStorage } from './storage/index.js';
export { DEFAULT_ONLINE_WINDOW_MS, presenceOf } from './presence.js';
export type { Presence } from './presence.js';
export { DEFAULT_SHUTDOWN_TIMEOUT_MS, startHubServer } from './server.js';
export type { HubServerOptions, RunningHub } from './server.js';
export type {
  AgentRow,
  StoredContextItem,
  ContextPage,
  DispatchItem,
  FleetSource,
  HubEngine,
  HubStorage,
  IngestResponse,
  NoteItem,
} from './storage/index.js';
export {
  createToken,
  hashToken,
  listTokens,
  revokeTokens,
  roleOf,
  rotateToken,
  TOKEN_ID_LENGTH,
  TOKEN_PREFIX,
} from './tokens.js';
export type { CreatedToken, TokenInfo, TokenRole } from './tokens.js';
export {
  CONTEXT_MAX_ITEMS,
  contextCursorSchema,
  dispatchRecordSchema,
} from '../protocol/sync-wire.js';
export type { DispatchRecord } from '../protocol/sync-wire.js';
export { DASHBOARD_MAX_ROWS, versionOf } from './wire.js';
