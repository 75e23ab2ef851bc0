import { z } from 'zod';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { contextItemSchema, type ContextItem } from '../protocol/sync-wire.js';
import type { Logger } from '../lib/logger.js';
import type { ContextAnswer } from './client.js';
import type { SyncDeps } from './deps.js';
import { readJsonFile, writeJsonFile, type SyncPaths } from './state/files.js';

/** The most context items other than notes kept in the cache (newest first). */
export const CONTEXT_LIMIT = 1000;
/** The most operator notes kept in the cache, counted apart so a burst of dispatches never pushes a note out. */
export const NOTE_LIMIT = 1000;
/** The most pages one pull asks for (a million items); a hub that keeps saying "more" beyond that is broken. */
export const MAX_PULL_PAGES = 1000;

/**
 * The result of a pull: the (merged) cached context, and whether it came fresh from the hub.
 * `success` is false when the hub was asked and failed, even though the cache is served.
 */
export interface PullResult {
  success: boolean;
  /** Items in `context`. */
  count: number;
  context: ContextItem[];
  /** Items the hub returned this time, over every page (0 when served from the cache alone). */
  fetched: number;
  /** Requests this pull made to the hub. */
  pages: number;
  source: 'hub' | 'cache';
  /** Why the cache was served: offline (success stays true), or the hub error (success false). */
  error?: string;
  /** Something the operator should fix although the pull worked (a hub that does not page). */
  warning?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** True for an RFC 3339 date-time such as `2026-01-01T00:00:00Z` or `2026-01-01T01:00:00.5+01:00`. */
export function isRfc3339(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * Pulls `GET /v1/agent/context` page after page from the hub's cursor (stored in the marks with
 * the hub URL it belongs to; a new URL starts from the beginning) until the hub has nothing
 * more, merging each page into `sync/context.json` and storing the next cursor in the same
 * transaction, so an interrupted pull resumes where it stopped. Then sets `last_pull_at` and
 * writes a `pull` history record. `since` (RFC 3339) pulls only what the hub received after it,
 * from the beginning, and leaves the stored cursor alone. A hub that does not page answers once
 * (its newest items); the result carries a warning. Offline it returns the cache; on a hub
 * failure it returns the cache with `success: false` and the reason, so callers never mistake
 * stale context for fresh. Throws INPUT_INVALID only for a `since` that is not RFC 3339.
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
  const { client, settings, state, clock, logger, paths } = deps;
  const cache = (error: string, failed: boolean, fetched = 0, pages = 0): PullResult => {
    const context = readContextCache(paths, { now: clock.now(), logger });
    return {
      success: !failed,
      count: context.length,
      context,
      fetched,
      pages,
      source: 'cache',
      error,
    };
  };
  if (client === undefined) return cache(`offline: ${settings.offlineReason ?? 'no token'}`, false);
  const startedAt = isoUtc(clock.now());
  const hub = settings.url ?? '';
  const marks = await state.run((tx) => tx.marks(), 'defer');
  const explicit = options.since !== undefined;
  let cursor = (!explicit && marks.pull_hub === hub ? marks.pull_cursor : undefined) ?? '0';
  let fetched = 0;
  let bytes = 0;
  let warning: string | undefined;
  let pages = 0;
  while (pages < MAX_PULL_PAGES) {
    let answer: ContextAnswer;
    try {
      answer = await client.context(settings.agentId, { cursor, since: options.since });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.warn({ reason: message, pages }, 'sync pull failed; serving the cached context');
      return cache(message, true, fetched, pages);
    }
    pages += 1;
    fetched += answer.items.length;
    bytes += answer.bytes;
    const next = answer.cursor;
    // A paging hub answers oldest change first; the cache is newest first.
    const fresh = next === undefined ? answer.items : [...answer.items].reverse();
    await state.run(async (tx) => {
      const cached = readContextCache(paths, { now: clock.now(), logger });
      writeJsonFile(paths.context, mergeContext(fresh, cached), state.degraded);
      if (next !== undefined && !explicit) await tx.setMarks({ pull_cursor: next, pull_hub: hub });
    }, 'defer');
    if (next === undefined) {
      warning =
        'the hub does not page context (an older agentic hub): only its newest items came; upgrade the hub';
      logger.warn({ hub }, warning);
      break;
    }
    if (!answer.hasMore) break;
    if (next === cursor) {
      const message = `hub context cursor did not advance past ${cursor}; the hub is misbehaving`;
      logger.warn({ hub }, message);
      return cache(message, true, fetched, pages);
    }
    cursor = next;
  }
  if (pages >= MAX_PULL_PAGES)
    logger.warn({ pages }, 'sync pull stopped at the page limit; the next pull continues');
  const context = await state.run(async (tx) => {
    await tx.setMarks({ last_pull_at: startedAt });
    await tx.appendHistory({
      agent_id: settings.agentId,
      ...(settings.fleetNodeId !== undefined ? { fleet_node_id: settings.fleetNodeId } : {}),
      direction: 'pull',
      payload_size: bytes,
      items_count: fetched,
      synced_at: isoUtc(clock.now()),
    });
    return readContextCache(paths, { now: clock.now(), logger });
  });
  return {
    success: true,
    count: context.length,
    context,
    fetched,
    pages,
    source: 'hub',
    ...(warning !== undefined ? { warning } : {}),
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
 * Keeps at most {@link CONTEXT_LIMIT} items other than notes and at most {@link NOTE_LIMIT}
 * notes, so a burst of dispatches never pushes an operator note out.
 */
export function mergeContext(
  fresh: readonly ContextItem[],
  cached: readonly ContextItem[],
): ContextItem[] {
  const seen = new Set<string>();
  const out: ContextItem[] = [];
  let notes = 0;
  let others = 0;
  for (const item of [...fresh, ...cached]) {
    const key = identity(item);
    if (seen.has(key)) continue;
    seen.add(key);
    if (item['type'] === 'note') {
      if (notes >= NOTE_LIMIT) continue;
      notes += 1;
    } else {
      if (others >= CONTEXT_LIMIT) continue;
      others += 1;
    }
    out.push(item);
    if (notes >= NOTE_LIMIT && others >= CONTEXT_LIMIT) break;
  }
  return out;
}

function identity(item: ContextItem): string {
  const id = item['id'];
  if (typeof id === 'string' || typeof id === 'number')
    return JSON.stringify([item['type'] ?? null, item['agent_id'] ?? null, id]);
  return JSON.stringify(item);
}
