import type { StateStore, StoreOps } from './types.js';

/** A store that could not be opened: every operation is a safe no-op (degraded mode; docs/ARCHITECTURE.md). */
export function createNullStore(location: string, reason: string): StateStore {
  const ops: StoreOps = {
    get: () => Promise.resolve(undefined),
    set: () => Promise.resolve(),
    delete: () => Promise.resolve(),
    count: () => Promise.resolve(0),
    entries: () => Promise.resolve([]),
    queuePage: () => Promise.resolve([]),
    addStats: () => Promise.resolve(),
  };
  return {
    ...ops,
    engine: 'none',
    degraded: true,
    ownsStateFiles: false,
    reason,
    location,
    schemaVersion: 0,
    transaction: (fn) => fn(ops),
    queryStats: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
}
