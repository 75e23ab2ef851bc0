export {
  FleetMembership,
  leaseSettings,
  leaseState,
  nodeEntrySchema,
  readNodes,
} from './membership.js';
export type { LeaseState, NodeEntry } from './membership.js';
export { nodeLeases } from './placement.js';
export { nodeLostQuestion, takeOverLostNodes } from './takeover.js';
export type { TakeoverReport } from './takeover.js';
export { fleetState, fleetView } from './view.js';
export type { FleetView, NodeView } from './view.js';
export type { NodeLeases } from './placement.js';
export {
  effectiveFile,
  fleetConfigView,
  joinFleetSettings,
  readFleetSettings,
  setFleetSetting,
} from './settings.js';
export type {
  FleetConfigView,
  FleetSettingsDoc,
  SettingChange,
  SettingsCheck,
} from './settings.js';
