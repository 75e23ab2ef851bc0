export { isPostgresUrl, openHubStorage } from './open.js';
export type {
  AgentRow,
  StoredContextItem,
  ContextPage,
  DashboardDispatchRow,
  DashboardFilter,
  DispatchItem,
  FleetSource,
  HubEngine,
  HubStorage,
  IngestBatch,
  IngestOutcome,
  IngestRecord,
  IngestResponse,
  NoteItem,
  TokenRow,
} from './types.js';
