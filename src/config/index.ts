export { agentsFilePath, loadConfig, reloadAgentsFile } from './load.js';
export { parseAgentsFile } from './agents-file.js';
export type { AgenticEnv, Config, ConfigFlags, Reloaded } from './load.js';
export { resolveCoreRoot, resolveHome, resolveWorkspaceRoot, runtimePaths } from './paths.js';
export type { RuntimePaths } from './paths.js';
export { poolLimits } from './pool-limits.js';
export type { PoolLimits } from './pool-limits.js';
export { deliverSettingsFor, qaSettingsFor } from './per-repo.js';
export type { DeliverSettings, QaSettings, VerifySettings } from './per-repo.js';
export { BUILT_IN_AGENTS, DELIVER_MODES, FORGE_KINDS, MERGE_METHODS } from './schema.js';
export type {
  AgentsFile,
  BuiltInAgent,
  ConcurrencyEntry,
  CustomAgentConfig,
  DeliverMode,
  MergeMethodSetting,
  ForgeConfig,
  ForgeKind,
  QaCheckConfig,
  RateConfig,
} from './schema.js';
