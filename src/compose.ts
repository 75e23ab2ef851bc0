import { createContext, type AppContext, type ContextOptions } from './context.js';

/**
 * Creates the context of a CLI verb, server or runner process: {@link createContext} plus the
 * rebuild of a damaged database that was moved aside: the registry, history and stats from the
 * workspaces' status.json files and journals (lifecycle), then the sync queue from its mirror
 * (sync). The rebuild code is loaded only then, so a normal start does not pay for it.
 */
export function createAppContext(options: ContextOptions): AppContext {
  return createContext({
    ...options,
    restore:
      options.restore ??
      (async (ctx, store) => {
        const report = await (
          await import('./lifecycle/rebuild.js')
        ).rebuildRegistryFromDisk(ctx, store);
        const syncQueued = await (
          await import('./sync/state/restore.js')
        ).restoreSyncQueue(ctx, store);
        return { ...report, syncQueued };
      }),
  });
}
