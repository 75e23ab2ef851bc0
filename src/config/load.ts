import { hostname } from 'node:os';
import { join } from 'node:path';
import { AgenticError } from '../lib/errors.js';
import { readTextIfExists } from '../lib/fs.js';
import { resolveCoreRoot, resolveWorkspaceRoot, type PathEnv } from './paths.js';
import { defaultAgentsFile } from './defaults.js';
import type { AgentsFile } from './schema.js';

/** The environment variables agentic reads; nothing outside src/config touches process.env. */
export interface AgenticEnv extends PathEnv {
  CORE_AGENT_CONFIG?: string | undefined;
  CORE_AGENT_STORE_URL?: string | undefined;
  CORE_AGENT_LOG_LEVEL?: string | undefined;
  CORE_API_URL?: string | undefined;
  CORE_AGENT_API_KEY?: string | undefined;
  CORE_BRAIN_KEY?: string | undefined;
  AGENT_NAME?: string | undefined;
  CORE_AGENT_FLEET_NODE_ID?: string | undefined;
  CORE_AGENT_SYNC_MAX_ATTEMPTS?: string | undefined;
  CORE_SYNC_MAX_ATTEMPTS?: string | undefined;
  GITHUB_TOKEN?: string | undefined;
  GH_TOKEN?: string | undefined;
  GITLAB_TOKEN?: string | undefined;
  GITEA_TOKEN?: string | undefined;
  FORGEJO_TOKEN?: string | undefined;
  CORE_AGENT_MCP_TOKEN?: string | undefined;
}

/** Settings given on the command line; they win over env and file. */
export interface ConfigFlags {
  config?: string | undefined;
  logLevel?: string | undefined;
}

/** The loaded, validated, frozen configuration of one process. */
export interface Config {
  readonly coreRoot: string;
  readonly workspaceRoot: string;
  /** Path of the agents.yaml that was read, or null when built-in defaults apply. */
  readonly configPath: string | null;
  readonly file: AgentsFile;
  readonly logLevel: string;
  /** `postgres://…` for the fleet engine; undefined = embedded SQLite. */
  readonly storeUrl: string | undefined;
  readonly nodeId: string;
  /** The environment agents and git run with (a copy of this process's environment). */
  readonly childEnv: Readonly<Record<string, string>>;
  /** Warnings found while loading (e.g. an ignored env value), to be logged once by the caller. */
  readonly warnings: readonly string[];
  /** The MCP HTTP bearer token from `$CORE_AGENT_MCP_TOKEN` (kept out of `ps`, unlike a flag), or undefined. */
  readonly mcpTokenEnv: string | undefined;
  /** Raw sync-related env, resolved by src/sync. */
  readonly syncEnv: Readonly<{
    apiUrl: string | undefined;
    apiKey: string | undefined;
    agentName: string | undefined;
    fleetNodeId: string | undefined;
    maxAttempts: number | undefined;
  }>;
  /**
   * The non-empty forge token variables: the usual ones (`GITHUB_TOKEN`, `GH_TOKEN`,
   * `GITLAB_TOKEN`, `GITEA_TOKEN`, `FORGEJO_TOKEN`) and each `forges[].token_env`, by name;
   * resolved into a token per forge by src/forge. Never logged.
   */
  readonly forgeEnv: Readonly<Record<string, string>>;
}

/** The variables forge tokens are read from when agents.yaml names none. */
const FORGE_TOKEN_VARS = [
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'GITLAB_TOKEN',
  'GITEA_TOKEN',
  'FORGEJO_TOKEN',
];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Loads configuration in layers: built-in defaults → agents.yaml → env → flags. agents.yaml is
 * found via `--config`, then `$CORE_AGENT_CONFIG`, then `<CoreRoot>/agents.yaml`.
 * Throws CONFIG_INVALID naming the file, the field path and what was expected. The parser (with
 * zod and the schema) is loaded only when there is a file: without one, most of a command's
 * start-up time would go to building a schema for nothing. `loadConfigSync` in load-sync.ts is
 * the same for callers that cannot await.
 */
export async function loadConfig(
  flags: ConfigFlags = {},
  env: AgenticEnv = readProcessEnv(),
): Promise<Config> {
  const source = findAgentsFile(flags, env);
  const file =
    source.text === undefined
      ? defaultAgentsFile()
      : (await import('./agents-file.js')).parseAgentsFile(source.text, source.path);
  return configFrom(source, file, flags, env);
}

/** Where agents.yaml is read from and its text (undefined: no file, built-in defaults apply). */
export interface AgentsFileSource {
  coreRoot: string;
  path: string;
  text: string | undefined;
}

/** Finds agents.yaml; throws CONFIG_INVALID when a file named by flag or env does not exist. */
export function findAgentsFile(flags: ConfigFlags, env: AgenticEnv): AgentsFileSource {
  const coreRoot = resolveCoreRoot(env);
  const explicitPath = flags.config ?? nonEmpty(env.CORE_AGENT_CONFIG);
  const path = explicitPath ?? join(coreRoot, 'agents.yaml');
  const text = readTextIfExists(path);
  if (text === undefined && explicitPath !== undefined) {
    throw new AgenticError('CONFIG_INVALID', `config file not found: ${explicitPath}`, {
      field: 'config',
    });
  }
  return { coreRoot, path, text };
}

/** The configuration from where agents.yaml was looked for, its content (`file`), env and flags. */
export function configFrom(
  source: AgentsFileSource,
  file: AgentsFile,
  flags: ConfigFlags,
  env: AgenticEnv,
): Config {
  const warnings: string[] = [];
  const { coreRoot, path: configPath, text } = source;

  const logLevel = flags.logLevel ?? nonEmpty(env.CORE_AGENT_LOG_LEVEL) ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new AgenticError(
      'CONFIG_INVALID',
      `log level "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`,
      {
        field: 'log-level',
      },
    );
  }

  // The MCP token guards this node's tools; agents and git have no use for it.
  const childEnv = Object.fromEntries(
    Object.entries(env).filter(
      (e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'CORE_AGENT_MCP_TOKEN',
    ),
  );
  const config: Config = {
    coreRoot,
    workspaceRoot: resolveWorkspaceRoot(coreRoot, file.dispatch.workspace_root),
    configPath: text === undefined ? null : configPath,
    file,
    logLevel,
    storeUrl: nonEmpty(env.CORE_AGENT_STORE_URL) ?? file.store.url,
    nodeId: nonEmpty(env.CORE_AGENT_FLEET_NODE_ID) ?? file.sync.fleet_node_id ?? hostname(),
    warnings,
    childEnv,
    mcpTokenEnv: nonEmpty(env.CORE_AGENT_MCP_TOKEN)?.trim(),
    syncEnv: {
      apiUrl: nonEmpty(env.CORE_API_URL),
      apiKey: nonEmpty(env.CORE_AGENT_API_KEY) ?? nonEmpty(env.CORE_BRAIN_KEY),
      agentName: nonEmpty(env.AGENT_NAME),
      fleetNodeId: nonEmpty(env.CORE_AGENT_FLEET_NODE_ID),
      maxAttempts: parseMaxAttempts(env, warnings),
    },
    forgeEnv: pickForgeEnv(childEnv, file),
  };
  return deepFreeze(config);
}

/** Where agents.yaml is read from: the file that was read, else `<CoreRoot>/agents.yaml`. */
export function agentsFilePath(config: Config): string {
  return config.configPath ?? join(config.coreRoot, 'agents.yaml');
}

function parseMaxAttempts(env: AgenticEnv, warnings: string[]): number | undefined {
  for (const name of ['CORE_AGENT_SYNC_MAX_ATTEMPTS', 'CORE_SYNC_MAX_ATTEMPTS'] as const) {
    const value = nonEmpty(env[name]);
    if (value === undefined) continue;
    if (/^\d+$/.test(value.trim()) && Number(value) > 0 && Number.isSafeInteger(Number(value)))
      return Number(value);
    warnings.push(`${name}="${value}" is not a positive integer; ignored`);
  }
  return undefined;
}

/** The forge token variables of `env` that `file` names or that are read by default, trimmed. */
export function pickForgeEnv(
  env: Record<string, string>,
  file: AgentsFile,
): Record<string, string> {
  const names = new Set([...FORGE_TOKEN_VARS, ...file.forges.flatMap((f) => f.token_env ?? [])]);
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = nonEmpty(env[name]);
    if (value !== undefined) picked[name] = value.trim();
  }
  return picked;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined;
}

/** A copy of this process's environment. */
export function readProcessEnv(): AgenticEnv {
  return { ...process.env };
}

/** Freezes `value` and everything under it: a process's configuration never changes in place. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
