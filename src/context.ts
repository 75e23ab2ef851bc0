import { EventEmitter } from 'node:events';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { Config } from './config/index.js';
import { poolLimits } from './config/pool-limits.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createLogger, type Logger } from './lib/logger.js';
import { openStateStore, type StateStore } from './store/index.js';
import type { StatusRecord } from './workspace/index.js';

/** In-process events: a runner finished a run, or a commit added history for sync. */
export interface AgenticEvents {
  finished: [name: string, record: StatusRecord];
  committed: [name: string];
}

/** What every operation needs: frozen config, logger, clock and the lazily opened store. */
export interface AppContext {
  /** The configuration in effect; each read sees the latest {@link AppContext.setConfig}. */
  readonly config: Config;
  /**
   * Puts a reloaded configuration in effect (the runner's agents.yaml reload). Code reads
   * `ctx.config` when it acts rather than keeping a copy, so the next claim, timeout or
   * closeout uses it.
   */
  setConfig(config: Config): void;
  readonly logger: Logger;
  readonly clock: Clock;
  /** In-process notifications (finished runs, commits); listeners must not throw. */
  readonly events: EventEmitter<AgenticEvents>;
  /** Opens the store on first use and returns the same instance afterwards; a failed open is retried by the next call. */
  store(): Promise<StateStore>;
  /** Closes the store if it was opened; safe to call more than once. */
  close(): Promise<void>;
}

/** Options for {@link createContext}; everything but `config` has a production default. */
export interface ContextOptions {
  config: Config;
  logger?: Logger;
  clock?: Clock;
  loadSqlite?: () => Promise<new (path: string, options?: { timeout?: number }) => SqliteDatabase>;
  /**
   * Rebuilds the registry after a corrupt database was moved aside, before the store is handed
   * out. The context cannot do it itself (rebuilding is lifecycle work, a layer above); see
   * `createAppContext` in compose.ts, which supplies it.
   */
  restore?: (ctx: AppContext, store: StateStore) => Promise<unknown>;
}

/**
 * Creates the composition root of one process. The store opens lazily and once; when it is
 * degraded the reason is logged once; when a corrupt database was quarantined, `restore` runs
 * before the store is handed out (without one, a warning says the registry starts empty).
 */
export function createContext(options: ContextOptions): AppContext {
  const logger = options.logger ?? createLogger(options.config.logLevel);
  const clock = options.clock ?? systemClock;
  for (const warning of options.config.warnings) logger.warn(warning);
  let opening: Promise<StateStore> | undefined;
  let config = options.config;
  const ctx: AppContext = {
    get config() {
      return config;
    },
    setConfig(next) {
      config = next;
    },
    logger,
    clock,
    events: new EventEmitter<AgenticEvents>(),
    store() {
      opening ??= (async () => {
        const { store, quarantined } = await openStateStore({
          coreRoot: options.config.coreRoot,
          // Both read when the store opens; changing workspace_root already needs a restart.
          workspaceRoot: options.config.workspaceRoot,
          limitOf: (pool) => poolLimits(ctx.config.file, pool).total,
          storeUrl: options.config.storeUrl,
          now: () => clock.now(),
          logger,
          ...(options.loadSqlite ? { loadSqlite: options.loadSqlite } : {}),
        });
        if (store.degraded)
          logger.warn(
            { reason: store.reason },
            'state store unavailable; running degraded on JSON files',
          );
        if (quarantined !== undefined) {
          if (options.restore) await options.restore(ctx, store);
          else
            logger.warn(
              { quarantined },
              'state store was damaged and moved aside; nothing rebuilds the registry here',
            );
        }
        return store;
      })();
      // A store that could not be opened (an unreachable fleet database) is tried afresh on
      // the next call: a daemon waiting for PostgreSQL must not keep the first failure.
      const attempt = opening;
      attempt.catch(() => {
        if (opening === attempt) opening = undefined;
      });
      return attempt;
    },
    async close() {
      if (opening === undefined) return;
      const store = await opening.catch(() => undefined);
      await store?.close();
    },
  };
  return ctx;
}
