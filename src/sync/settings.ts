import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { readTextIfExists } from '../lib/fs.js';

/** Attempts before a queued push is dropped when neither env nor agents.yaml says otherwise (README: Sync). */
export const DEFAULT_MAX_ATTEMPTS = 100;

/** How the sync client talks to the hub, resolved once from env and agents.yaml. */
export interface SyncSettings {
  /** Hub base URL without a trailing slash, or undefined. */
  readonly url: string | undefined;
  /** Bearer token, or undefined. */
  readonly token: string | undefined;
  /** True when both a URL and a token are known; otherwise push only queues and pull serves the cache. */
  readonly online: boolean;
  /** Why the client is offline (`no token`, `no hub URL`, …), or undefined when online. */
  readonly offlineReason: string | undefined;
  readonly agentId: string;
  /** Sent as `fleet_node_id` only when configured. */
  readonly fleetNodeId: string | undefined;
  /** Dispatch records per queued entry (one request each). */
  readonly batchSize: number;
  readonly maxAttempts: number;
  /** Non-fatal problems found while resolving (e.g. an unreadable token file), to be logged by the caller. */
  readonly warnings: readonly string[];
}

/**
 * Resolves sync settings: URL `CORE_API_URL` then `sync.url`; token `CORE_AGENT_API_KEY`, then
 * `CORE_BRAIN_KEY`, then the trimmed contents of `sync.token_file` (relative to the agents.yaml
 * folder, else CoreRoot); agent id `AGENT_NAME`, then `sync.agent_id`, then the hostname; max
 * attempts env, then `sync.max_attempts`, then 100. Never throws: a missing token means offline.
 */
export function resolveSyncSettings(config: Config, host: string = hostname()): SyncSettings {
  const warnings: string[] = [];
  const env = config.syncEnv;
  const file = config.file.sync;
  const url = (env.apiUrl ?? file.url)?.trim().replace(/\/+$/, '') || undefined;
  let token = env.apiKey?.trim() || undefined;
  if (token === undefined && file.token_file !== undefined) {
    const base = config.configPath === null ? config.coreRoot : dirname(config.configPath);
    const path = isAbsolute(file.token_file) ? file.token_file : resolve(base, file.token_file);
    try {
      token = readTextIfExists(path)?.trim() || undefined;
      if (token === undefined)
        warnings.push(`sync.token_file ${path} is missing or empty; offline`);
    } catch (err) {
      warnings.push(`cannot read sync.token_file ${path}: ${(err as Error).message}; offline`);
    }
  }
  const offlineReason =
    token === undefined ? 'no token' : url === undefined ? 'no hub URL' : undefined;
  return {
    url,
    token,
    online: offlineReason === undefined,
    offlineReason,
    agentId: env.agentName?.trim() || file.agent_id || host,
    fleetNodeId: env.fleetNodeId ?? file.fleet_node_id,
    batchSize: file.batch_size,
    maxAttempts: env.maxAttempts ?? file.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
    warnings,
  };
}
