export { isPostgresUrl, openHubStorage } from './open.js';
export type {
  AgentRow,
  StoredContextItem,
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
