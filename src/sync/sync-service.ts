import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AppContext } from '../context.js';
import { collectPending, type Collected } from './queue/collect.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, HubClient, type FetchLike } from './client.js';
import type { SyncDeps } from './deps.js';
import { sendOnce, PUSH_WINDOW, type SendResult } from './send/send-once.js';
import { fileSyncState } from './state/file-tx.js';
import { migrateLegacyNames, syncPaths } from './state/files.js';
import { pullContext, type PullResult } from './pull.js';
import { requeueDropped } from './queue/queue.js';
import { resolveSyncSettings, type SyncSettings } from './settings.js';
import { syncStatus, type SyncStatusReport } from './status.js';
import { storeSyncState } from './state/store-tx.js';

/** Options of {@link createSyncService}; all have production defaults. */
export interface SyncServiceOptions {
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Jitter source in [0, 1) (default Math.random; 0.5 means no jitter). */
  random?: () => number;
  /** Per-request timeout in ms (default 30 s). */
  requestTimeoutMs?: number;
  /** Settings to use instead of resolving them from the context's config. */
  settings?: SyncSettings;
  /** Requests kept in flight at most (default 4). */
  window?: number;
}

/** What `push` did: `count` records reached the hub; `queued` entries are still waiting. */
export interface PushReport {
  /** False only when an entry was dropped during this call (it is kept for `retry-dropped`). */
  success: boolean;
  count: number;
  queued: number;
  dropped: number;
  next_attempt?: string;
  error?: string;
  offline?: string;
}

/** What `retryDropped` did. */
export interface RetryDroppedReport {
  success: boolean;
  /** Entries moved back to the queue. */
  count: number;
  records: number;
  /** Records that then reached the hub (0 offline). */
  pushed: number;
}

/**
 * The sync client of one process (README: Sync): push through the offline queue, pull into the
 * context cache, status. Uses the state store when it is healthy and the JSON files under
 * `<CoreRoot>/sync/` when it is degraded. Create with {@link createSyncService}.
 */
export class SyncService {
  constructor(readonly deps: SyncDeps) {}

  /** Resolved settings (agent id, online or not, …). */
  get settings(): SyncSettings {
    return this.deps.settings;
  }

  /** Queues unsynced `dispatch_history` records plus `dispatches` (see collectPending); throws INPUT_INVALID for a malformed dispatch. */
  enqueue(dispatches: readonly unknown[] = []): Promise<Collected> {
    const { state, clock, logger, settings } = this.deps;
    return state.run((tx) =>
      collectPending(tx, settings, { now: clock.now(), logger }, dispatches),
    );
  }

  /** One send pass over the queue (see sendOnce); `force` ignores back-off. */
  send(options: { force?: boolean; signal?: AbortSignal } = {}): Promise<SendResult> {
    return sendOnce(this.deps, options);
  }

  /** Queues what is pending, then (online) sends every queued entry now, oldest first, ignoring back-off. */
  async push(
    options: { dispatches?: readonly unknown[]; signal?: AbortSignal } = {},
  ): Promise<PushReport> {
    await this.enqueue(options.dispatches);
    const sent = await this.send({
      force: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      success: sent.dropped === 0,
      count: sent.pushed,
      queued: sent.remaining,
      dropped: sent.dropped,
      ...(sent.nextAttemptAt !== undefined && sent.remaining > 0
        ? { next_attempt: sent.nextAttemptAt }
        : {}),
      ...(sent.lastError !== undefined ? { error: sent.lastError } : {}),
      ...(this.deps.settings.online
        ? {}
        : { offline: this.deps.settings.offlineReason ?? 'no token' }),
    };
  }

  /** Pulls the hub context into the cache, or serves the cache (see pullContext). */
  pull(options: { since?: string | undefined } = {}): Promise<PullResult> {
    return pullContext(this.deps, options);
  }

  /** The local view merged with the hub's status; never throws for hub errors. */
  status(): Promise<SyncStatusReport> {
    return syncStatus(this.deps);
  }

  /** Requeues every dropped entry with a fresh attempt count and (online) sends the queue once. */
  async retryDropped(): Promise<RetryDroppedReport> {
    const { state, clock, settings } = this.deps;
    // Retried as who this node is now: a batch dropped with a wrong AGENT_NAME goes through once fixed.
    const identity = { agentId: settings.agentId, fleetNodeId: settings.fleetNodeId };
    const moved = await state.run((tx) => requeueDropped(tx, clock.now(), identity));
    const sent = await this.send({ force: true });
    return {
      success: sent.dropped === 0,
      count: moved.entries,
      records: moved.records,
      pushed: sent.pushed,
    };
  }
}

/**
 * Builds the sync client for a context: resolves settings (warnings are logged), opens the store
 * (degraded → JSON files under a lock file) and, when a token and URL are known, the hub client.
 */
export async function createSyncService(
  ctx: AppContext,
  options: SyncServiceOptions = {},
): Promise<SyncService> {
  const settings = options.settings ?? resolveSyncSettings(ctx.config);
  for (const warning of settings.warnings) ctx.logger.warn(warning);
  const store = await ctx.store();
  const paths = syncPaths(ctx.config.coreRoot);
  migrateLegacyNames(paths);
  const io = { clock: ctx.clock, logger: ctx.logger };
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const client =
    settings.online && settings.url !== undefined && settings.token !== undefined
      ? new HubClient({
          url: settings.url,
          token: settings.token,
          clock: ctx.clock,
          timeoutMs,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        })
      : undefined;
  return new SyncService({
    settings,
    client,
    state: store.degraded ? fileSyncState(paths, io) : storeSyncState(store, paths, io),
    paths,
    clock: ctx.clock,
    logger: ctx.logger,
    random: options.random ?? Math.random,
    owner: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    leaseMs: timeoutMs + 30_000,
    window: options.window ?? PUSH_WINDOW,
  });
}
