import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { isoUtc } from '../lib/clock.js';
import { mtimesInWorker } from '../lib/stat-worker.js';
import { restoreRecords } from '../lifecycle/track.js';
import { GROUPS, type StateStore, isFleet } from '../store/index.js';
import { discoverWorkspaces, workspaceDir, type StatusRecord } from '../workspace/index.js';
import {
  carriesMirrorMark,
  isCurrentMirror,
  readStatusFile,
  STATUS_FILE,
  statusPath,
  writeStatusFile,
} from '../workspace/status-file.js';
import { registryRecord } from '../workspace/record-schema.js';

/** Question of a registry entry whose workspace directory is gone. */
export const MISSING_QUESTION = 'workspace directory missing';

/** Records read or compared between two turns of the event loop. */
const PAGE = 1000;

/** Lets callbacks waiting on the event loop run (the reaping's disk writes). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The workspaces on disk, and the mtimes of their mirrors as a worker thread stats them. */
export interface DiskScan {
  names: string[];
  mtimes: Promise<Float64Array>;
}

/**
 * Lists the workspaces on disk and starts stat'ing every mirror on a worker thread, so that this
 * thread reads the registry and reaps dead agents meanwhile; {@link compareDisk} awaits it.
 */
export function scanDisk(root: string): DiskScan {
  const names = discoverWorkspaces(root);
  const mtimes = mtimesInWorker(
    root,
    names.map((name) => `${name}/${STATUS_FILE}`),
  );
  mtimes.catch(() => undefined); // awaited by compareDisk
  return { names, mtimes };
}

/**
 * The registry as hydrate merges it with the status.json files: `records` is the merged view,
 * `changed` what the registry still has to take, `missing` the entries whose directory vanished.
 */
export class DiskMerge {
  readonly records = new Map<string, StatusRecord>();
  readonly changed = new Map<string, StatusRecord>();
  readonly missing = new Set<string>();
  readonly #ctx: AppContext;
  readonly #root: string;
  readonly #fleet: boolean;

  constructor(ctx: AppContext, fleet: boolean) {
    this.#ctx = ctx;
    this.#root = ctx.config.workspaceRoot;
    this.#fleet = fleet;
  }

  /**
   * True when this node judges `record`: in a fleet, another node's work is that node's (or,
   * once its lease expires, a takeover's: src/fleet).
   */
  mine(record: StatusRecord | undefined): boolean {
    return !this.#fleet || record?.node === this.#ctx.config.nodeId;
  }

  /** Newer wins between the registry and status.json (its mtime given when already read). */
  checkDisk(name: string, mtimeMs?: number): void {
    const known = this.records.get(name);
    // In a fleet the shared registry is the only truth for what is not this node's own.
    if (this.#fleet && !this.mine(known)) return;
    const dir = join(this.#root, name);
    // A status.json carrying the mirror mark of the registry's version was written by
    // trackWorkspace for exactly that version: no need to read it.
    if (
      known !== undefined &&
      (mtimeMs === undefined
        ? isCurrentMirror(statusPath(dir), known.updated_at)
        : carriesMirrorMark(mtimeMs, known.updated_at))
    )
      return;
    const read = readStatusFile(dir, this.#ctx.clock.now());
    if (read.kind === 'corrupt') {
      this.#ctx.logger.warn(
        { workspace: name, moved_to: read.movedTo, reason: read.reason },
        'corrupt status.json quarantined',
      );
    }
    if (read.kind === 'ok' && (known === undefined || read.record.updated_at > known.updated_at)) {
      this.records.set(name, read.record);
      this.changed.set(name, read.record);
      return;
    }
    // The mirror is missing, unreadable or an older version (a crash between the store's commit
    // and the mirror write): the registry is the truth, so the mirror is written again from it.
    // Durably: in degraded mode the file is the only copy (a rare repair, so the fsync is cheap).
    if (known !== undefined) writeStatusFile(dir, known, { durable: true });
  }

  /** Checks `name` against its status.json, or marks it failed when its directory is gone. */
  checkOrMarkMissing(name: string, record: StatusRecord): void {
    if (existsSync(workspaceDir(this.#root, name))) this.checkDisk(name);
    else this.markMissing(name, record);
  }

  /** Turns this node's entry whose workspace directory vanished into a kept failed record. */
  markMissing(name: string, record: StatusRecord): void {
    if (!this.mine(record)) return;
    if (record.status === 'failed' && record.question === MISSING_QUESTION) return;
    const { pid: _p, pid_start: _s, ...rest } = record;
    const failed: StatusRecord = {
      ...rest,
      status: 'failed',
      question: MISSING_QUESTION,
      updated_at: isoUtc(this.#ctx.clock.now()),
    };
    this.records.set(name, failed);
    this.changed.set(name, failed);
    this.missing.add(name);
  }
}

/**
 * Reads the registry into `merge.records`, page by page with a turn of the event loop between,
 * so that the reaping already under way keeps going; the names in `early` were read before.
 */
export async function readRegistryPages(
  ctx: AppContext,
  store: StateStore,
  merge: DiskMerge,
  early: ReadonlySet<string>,
): Promise<void> {
  for (let after: string | undefined; ;) {
    const page = await store.entries(GROUPS.registry, { after, limit: PAGE });
    for (const [name, value] of page) {
      if (early.has(name)) continue;
      const record = registryRecord(value);
      if (record) merge.records.set(name, record);
      else
        ctx.logger.warn({ workspace: name }, 'invalid registry entry ignored; status.json decides');
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]?.[0];
    await turn();
  }
}

/**
 * Compares every workspace on disk not in `early` with the registry, in slices that let the
 * reaping make progress, then marks the registry entries whose directory is gone as missing.
 */
export async function compareDisk(
  ctx: AppContext,
  merge: DiskMerge,
  scan: DiskScan,
  early: ReadonlySet<string>,
): Promise<void> {
  merge.changed.clear();
  const stamps = await scan.mtimes;
  const { names } = scan;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (!early.has(name)) merge.checkDisk(name, stamps[i]);
    if (i % PAGE === PAGE - 1) await turn();
  }
  const found = new Set(names);
  const root = ctx.config.workspaceRoot;
  for (const [name, record] of merge.records) {
    if (early.has(name) || found.has(name) || existsSync(workspaceDir(root, name))) continue;
    merge.markMissing(name, record);
  }
}

/**
 * Writes records merged from disk (adopted, newer, or failed because their directory vanished)
 * to the registry, noting terminal ones whose journal lacks this version for the final commit
 * step; with `all`, also rebuilds the derived groups from the complete set, in the same
 * transaction.
 */
export async function writeMerged(
  ctx: AppContext,
  changed: ReadonlyMap<string, StatusRecord>,
  all?: Map<string, StatusRecord>,
): Promise<void> {
  const store = await ctx.store();
  const fenced = isFleet(store);
  await store.transaction((tx) => restoreRecords(ctx, tx, changed, { fenced, all }));
}
