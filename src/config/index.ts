export { agentsFilePath, loadConfig } from './load.js';
export type { AgenticEnv, Config, ConfigFlags } from './load.js';
// agents.yaml parsing (and with it zod) is not re-exported here: a command run without a config
// file must not load it. Import it from './agents-file.js' or './load-sync.js' where it is needed.
export { resolveCoreRoot, resolveHome, resolveWorkspaceRoot, runtimePaths } from './paths.js';
export type { RuntimePaths } from './paths.js';
export { poolLimits } from './pool-limits.js';
export type { PoolLimits } from './pool-limits.js';
export { deliverSettingsFor, qaSettingsFor } from './per-repo.js';
export type { DeliverSettings, QaSettings, VerifySettings } from './per-repo.js';
export { BUILT_IN_AGENTS, DELIVER_MODES, FORGE_KINDS, MERGE_METHODS } from './constants.js';
export type { BuiltInAgent } from './constants.js';
export type {
  AgentsFile,
  ConcurrencyEntry,
  CustomAgentConfig,
  DeliverMode,
  MergeMethodSetting,
  ForgeConfig,
  ForgeKind,
  QaCheckConfig,
  RateConfig,
} from './schema.js';
