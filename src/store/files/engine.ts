import { runtimePaths, type RuntimePaths } from '../../config/index.js';
import { isoUtc } from '../../lib/clock.js';
import { AgenticError } from '../../lib/errors.js';
import { removeDurable } from '../../lib/fs.js';
import { withLockFile } from '../../lib/lock-file.js';
import type { Logger } from '../../lib/logger.js';
import type { StatusRecord } from '../../workspace/index.js';
import { statusPath, writeStatusFiles } from '../../workspace/status-file.js';
import type {
  EntriesPage,
  Group,
  QueuePageRequest,
  QueueRow,
  StateStore,
  StatsRow,
  StoreOps,
} from '../types.js';
import { StatusFiles } from './registry.js';
import { writeFrozenFile, writeRuntimeFile } from './runtime-files.js';
import { FileTx, type FileChanges, type FileEnv } from './tx.js';

/** Writes status.json files durably (fsync of file and directory) before it resolves. */
export type DurableStatusWriter = (
  files: ReadonlyArray<readonly [dir: string, record: StatusRecord]>,
) => Promise<void>;

/** Options of {@link openFileStore}. */
export interface FileStoreOptions {
  coreRoot: string;
  workspaceRoot: string;
  logger: Logger;
  /** Where the configured store would have been, and why it could not be opened. */
  location: string;
  reason: string;
  now?: () => Date;
  /** A pool's total limit, reported in `concurrency` snapshots (default 0). */
  limitOf?: (pool: string) => number;
  /** The durable status.json writer; tests replace it to watch the writes. */
  writeFiles?: DurableStatusWriter;
}

/** A transaction holds the state lock for milliseconds; one this old was left by a hung process. */
const STALE_MS = 600_000;

/**
 * The state store of degraded mode: the files carry the state. `registry` is the workspaces'
 * status.json, `runtime` is runtime/dispatch.json, the `runner` group's `frozen` is the
 * runtime/frozen file; `queue`, `running`, `concurrency` and `uncommitted` are derived from the
 * records and commit markers; the sync groups, history and stats are kept nowhere (the journals
 * and the sync state files hold them). A transaction holds `<CoreRoot>/runtime/state.lock`, so
 * processes on this host serialise, and resolves once its files are fsynced. Reads outside a
 * transaction take no lock: each file is whole, but another process's commit may be half seen.
 */
export function openFileStore(options: FileStoreOptions): StateStore {
  return new FileStore(options);
}

class FileStore implements StateStore {
  readonly engine = 'files' as const;
  readonly degraded = true;
  readonly ownsStateFiles = true;
  readonly schemaVersion = 0;
  readonly location: string;
  readonly reason: string;
  private readonly paths: RuntimePaths;
  private readonly env: FileEnv;
  private readonly writeFiles: DurableStatusWriter;
  private closed = false;

  constructor(options: FileStoreOptions) {
    this.location = options.location;
    this.reason = options.reason;
    this.paths = runtimePaths(options.coreRoot);
    const now = options.now ?? (() => new Date());
    const statuses = new StatusFiles(options.workspaceRoot, now, options.logger);
    const warned = new Set<string>();
    this.env = {
      paths: this.paths,
      statuses,
      now,
      dir: (name) => statuses.dir(name),
      limitOf: options.limitOf ?? (() => 0),
      warnOnce: (key, message) => {
        if (warned.has(key)) return;
        warned.add(key);
        options.logger.warn(message);
      },
    };
    this.writeFiles = options.writeFiles ?? ((files) => writeStatusFiles(files, { durable: true }));
  }

  async get(group: Group, key: string): Promise<unknown> {
    return this.read().get(group, key);
  }
  async count(group: Group): Promise<number> {
    return this.read().count(group);
  }
  async entries(group: Group, page?: EntriesPage): Promise<Array<[string, unknown]>> {
    return this.read().entries(group, page);
  }
  async queuePage(page: QueuePageRequest): Promise<QueueRow[]> {
    return this.read().queuePage(page);
  }
  set(group: Group, key: string, value: unknown): Promise<void> {
    return this.transaction((tx) => tx.set(group, key, value));
  }
  delete(group: Group, key: string): Promise<void> {
    return this.transaction((tx) => tx.delete(group, key));
  }
  addStats(_row: StatsRow): Promise<void> {
    return Promise.resolve();
  }
  queryStats(): Promise<StatsRow[]> {
    return Promise.resolve([]);
  }

  /**
   * Runs `fn` under the state lock and writes what it changed before resolving: dispatch.json
   * and frozen first, then the status.json files, each fsynced with its directory. `fn` must use
   * only `tx`: a write on the store itself waits for this transaction and deadlocks.
   */
  async transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    this.open();
    return withLockFile(
      this.paths.stateLock,
      async () => {
        const tx = new FileTx(this.env);
        const result = await fn(tx);
        await this.commit(tx.changes());
        return result;
      },
      { name: 'state lock', staleMs: STALE_MS },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * Runtime before status: a crash in between can only over-count pacing and back-off, and a
   * claim whose status.json was not written stays queued.
   */
  private async commit(changes: FileChanges): Promise<void> {
    if (changes.runtime !== undefined) writeRuntimeFile(this.paths, changes.runtime);
    if (changes.frozen !== undefined)
      writeFrozenFile(this.paths, changes.frozen, isoUtc(this.env.now()));
    for (const name of changes.removed) removeDurable(statusPath(this.env.dir(name)));
    if (changes.status.length > 0)
      await this.writeFiles(changes.status.map(([name, record]) => [this.env.dir(name), record]));
  }

  private read(): FileTx {
    this.open();
    return new FileTx(this.env);
  }

  private open(): void {
    if (this.closed) throw new AgenticError('STORE_UNAVAILABLE', 'the state store is closed');
  }
}
