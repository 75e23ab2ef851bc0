export { isPostgresUrl, openHubStorage } from './open.js';
export type {
  AgentRow,
  ContextItem,
  ContextPage,
  DashboardDispatchRow,
  DashboardFilter,
  DispatchItem,
  HubEngine,
  HubStorage,
  IngestBatch,
  IngestOutcome,
  IngestRecord,
  IngestResponse,
  NoteItem,
  TokenRow,
} from './types.js';
