export { loadConfig, parseAgentsFile } from './load.js';
export type { AgenticEnv, Config, ConfigFlags } from './load.js';
export { resolveCoreRoot, resolveHome, resolveWorkspaceRoot } from './paths.js';
export { deliverSettingsFor, qaSettingsFor } from './per-repo.js';
export type { DeliverSettings, QaSettings } from './per-repo.js';
export { DELIVER_MODES, FORGE_KINDS } from './schema.js';
export type {
  AgentsFile,
  ConcurrencyEntry,
  CustomAgentConfig,
  DeliverMode,
  ForgeConfig,
  ForgeKind,
  QaCheckConfig,
  RateConfig,
} from './schema.js';
