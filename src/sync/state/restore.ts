import type { AppContext } from '../../context.js';
import type { StateStore } from '../../store/index.js';
import { syncPaths } from './files.js';
import { importQueueMirror } from './store-mirrors.js';

/**
 * Puts every entry of `sync/queue.json` back into a store that replaced a damaged database: the
 * store's copy of the queue was lost with it, the mirror still holds it. Part of the rebuild that
 * compose.ts runs before the store is handed out (the registry is lifecycle's part). Returns how
 * many entries were restored.
 */
export async function restoreSyncQueue(ctx: AppContext, store: StateStore): Promise<number> {
  const paths = syncPaths(ctx.config.coreRoot);
  return store.transaction((ops) =>
    importQueueMirror(ops, paths, { clock: ctx.clock, logger: ctx.logger }, 'all'),
  );
}
