import { z } from 'zod';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SyncDeps } from './deps.js';
import { readJsonFile, writeJsonFile, type SyncPaths } from './files.js';
import { contextItemSchema, type ContextItem } from './schema.js';

/** The most context items kept in the cache (newest first). */
export const CONTEXT_LIMIT = 1000;

/**
 * The result of a pull: the (merged) cached context, and whether it came fresh from the hub.
 * `success` is false when the hub was asked and failed, even though the cache is served.
 */
export interface PullResult {
  success: boolean;
  /** Items in `context`. */
  count: number;
  context: ContextItem[];
  /** Items the hub returned this time (0 when served from the cache). */
  fetched: number;
  source: 'hub' | 'cache';
  /** Why the cache was served: offline (success stays true), or the hub error (success false). */
  error?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** True for an RFC 3339 date-time such as `2026-01-01T00:00:00Z` or `2026-01-01T01:00:00.5+01:00`. */
export function isRfc3339(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * Pulls `GET /v1/agent/context` since `since` (default: `last_pull_at`), merges it into
 * `sync/context.json`, sets `last_pull_at` to when the request started and writes a `pull`
 * history record. Offline it returns the cache; on a hub failure it returns the cache with
 * `success: false` and the reason, so callers never mistake stale context for fresh. Throws INPUT_INVALID
 * only for a `since` that is not RFC 3339.
 */
export async function pullContext(
  deps: SyncDeps,
  options: { since?: string | undefined } = {},
): Promise<PullResult> {
  if (options.since !== undefined && !isRfc3339(options.since))
    throw new AgenticError(
      'INPUT_INVALID',
      `--since must be an RFC 3339 time such as 2026-01-01T00:00:00Z (got "${options.since}")`,
      {
        field: 'since',
      },
    );
  const { client, settings, runner, clock, logger, paths } = deps;
  const cache = (error: string, failed: boolean): PullResult => {
    const context = readContextCache(paths, { now: clock.now(), logger });
    return { success: !failed, count: context.length, context, fetched: 0, source: 'cache', error };
  };
  if (client === undefined) return cache(`offline: ${settings.offlineReason ?? 'no token'}`, false);
  const startedAt = isoUtc(clock.now());
  const since = options.since ?? (await runner.run((tx) => tx.marks(), 'defer')).last_pull_at;
  let fresh: { items: ContextItem[]; bytes: number };
  try {
    fresh = await client.context(settings.agentId, since);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.warn({ reason: message }, 'sync pull failed; serving the cached context');
    return cache(message, true);
  }
  const context = await runner.run(async (tx) => {
    const merged = mergeContext(fresh.items, readContextCache(paths, { now: clock.now(), logger }));
    writeJsonFile(paths.context, merged, runner.degraded);
    await tx.setMarks({ last_pull_at: startedAt });
    await tx.appendHistory({
      agent_id: settings.agentId,
      ...(settings.fleetNodeId !== undefined ? { fleet_node_id: settings.fleetNodeId } : {}),
      direction: 'pull',
      payload_size: fresh.bytes,
      items_count: fresh.items.length,
      synced_at: isoUtc(clock.now()),
    });
    return merged;
  });
  return {
    success: true,
    count: context.length,
    context,
    fetched: fresh.items.length,
    source: 'hub',
  };
}

/** The cached context (`sync/context.json`), newest first; empty when there is none (a corrupt file is quarantined). */
export function readContextCache(
  paths: SyncPaths,
  io: { now: Date; logger: Logger },
): ContextItem[] {
  return readJsonFile(paths.context, z.array(contextItemSchema), io) ?? [];
}

/**
 * Merges freshly pulled items (newest first) in front of the cached ones: an item with the same
 * identity (`type`, `agent_id`, `id`; the whole item when it has no id) replaces the cached copy.
 * Keeps at most {@link CONTEXT_LIMIT}.
 */
export function mergeContext(
  fresh: readonly ContextItem[],
  cached: readonly ContextItem[],
): ContextItem[] {
  const seen = new Set<string>();
  const out: ContextItem[] = [];
  for (const item of [...fresh, ...cached]) {
    const key = identity(item);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
    if (out.length >= CONTEXT_LIMIT) break;
  }
  return out;
}

function identity(item: ContextItem): string {
  const id = item['id'];
  if (typeof id === 'string' || typeof id === 'number')
    return JSON.stringify([item['type'] ?? null, item['agent_id'] ?? null, id]);
  return JSON.stringify(item);
}
