export { loadConfig, parseAgentsFile } from './load.js';
export type { AgenticEnv, Config, ConfigFlags } from './load.js';
export { resolveCoreRoot, resolveHome, resolveWorkspaceRoot } from './paths.js';
export type { AgentsFile, ConcurrencyEntry, CustomAgentConfig, RateConfig } from './schema.js';
