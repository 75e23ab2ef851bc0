import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { HubClient } from './client.js';
import type { SyncPaths } from './state/files.js';
import type { LeaseOwner } from './queue/entry-lease.js';
import type { SyncSettings } from './settings.js';
import type { SyncState } from './state/tx.js';

/** Everything the sync operations share in one process; built by `createSyncService`. */
export interface SyncDeps {
  readonly settings: SyncSettings;
  /** Undefined when offline (no token or no URL). */
  readonly client: HubClient | undefined;
  readonly state: SyncState;
  readonly paths: SyncPaths;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Jitter source in [0, 1). */
  readonly random: () => number;
  readonly owner: LeaseOwner;
  /** How long a claimed entry stays leased (request timeout plus a margin). */
  readonly leaseMs: number;
  /** Requests kept in flight at most. */
  readonly window: number;
}
