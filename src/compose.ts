import { createContext, type AppContext, type ContextOptions } from './context.js';

/**
 * Creates the context of a CLI verb, server or runner process: {@link createContext} plus the
 * rebuild of the registry from the workspaces' status.json files when a damaged database was
 * moved aside. The rebuild code is loaded only then, so a normal start does not pay for it.
 */
export function createAppContext(options: ContextOptions): AppContext {
  return createContext({
    ...options,
    restore:
      options.restore ??
      (async (ctx, store) =>
        (await import('./lifecycle/rebuild.js')).rebuildRegistryFromDisk(ctx, store)),
  });
}
