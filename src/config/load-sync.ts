import { parseAgentsFile } from './agents-file.js';
import { defaultAgentsFile } from './defaults.js';
import {
  configFrom,
  deepFreeze,
  findAgentsFile,
  pickForgeEnv,
  readProcessEnv,
  type AgenticEnv,
  type Config,
  type ConfigFlags,
} from './load.js';
import { resolveWorkspaceRoot } from './paths.js';

// The synchronous ways to read agents.yaml: they load the schema (and zod) with this module, so
// the CLI's start path reaches them only through `loadConfig`'s dynamic import.

/** `loadConfig` for callers that cannot await (tests, fixtures, benchmarks). */
export function loadConfigSync(
  flags: ConfigFlags = {},
  env: AgenticEnv = readProcessEnv(),
): Config {
  const source = findAgentsFile(flags, env);
  const file =
    source.text === undefined ? defaultAgentsFile() : parseAgentsFile(source.text, source.path);
  return configFrom(source, file, flags, env);
}

/** A reloaded configuration, and the changed settings that take effect only at the next start. */
export interface Reloaded {
  config: Config;
  /** One sentence per changed setting the running process keeps as it was. */
  restartNeeded: string[];
}

/**
 * The configuration `config` becomes with agents.yaml text `text` read from `path` (a running
 * daemon's reload): agents, concurrency, dispatch settings, rates, QA, delivery and forges take
 * the new values; the workspace root, the store and sync settings are kept (the process opened
 * them at start), and each of those that changed is named in `restartNeeded`. Environment and
 * flags keep the values they had. Throws CONFIG_INVALID like `loadConfig`.
 */
export function reloadAgentsFile(config: Config, text: string, path: string): Reloaded {
  const file = parseAgentsFile(text, path);
  const restartNeeded: string[] = [];
  if (resolveWorkspaceRoot(config.coreRoot, file.dispatch.workspace_root) !== config.workspaceRoot)
    restartNeeded.push('dispatch.workspace_root changed; it takes effect at the next start');
  if (file.store.url !== config.file.store.url)
    restartNeeded.push('store.url changed; it takes effect at the next start');
  if (JSON.stringify(file.sync) !== JSON.stringify(config.file.sync))
    restartNeeded.push('sync settings changed; they take effect at the next start');
  const next: Config = {
    ...config,
    configPath: path,
    file: {
      ...file,
      dispatch: { ...file.dispatch, workspace_root: config.file.dispatch.workspace_root },
      store: config.file.store,
      sync: config.file.sync,
    },
    forgeEnv: pickForgeEnv(config.childEnv, file),
  };
  return { config: deepFreeze(next), restartNeeded };
}
