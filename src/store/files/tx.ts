import type { RuntimePaths } from '../../config/index.js';
import { AgenticError } from '../../lib/errors.js';
import { byteOrder } from '../../lib/text.js';
import type { StatusRecord } from '../../workspace/index.js';
import { registryRecord } from '../../workspace/record-schema.js';
import {
  GROUPS,
  type EntriesPage,
  type Group,
  type QueuePageRequest,
  type QueueRow,
  type StatsRow,
  type StoreOps,
} from '../types.js';
import { DERIVED, derivedEntries, derivedValue, queuePage, type DerivedEnv } from './derived.js';
import type { StatusFiles } from './registry.js';
import { isFrozenFile, readRuntimeFile } from './runtime-files.js';

/** What a {@link FileTx} reads and reports through. */
export interface FileEnv extends DerivedEnv {
  paths: RuntimePaths;
  statuses: StatusFiles;
  /** Logs `message` the first time `key` comes up in this process's store. */
  warnOnce(key: string, message: string): void;
}

/** The writes a transaction leaves for commit; undefined fields are unchanged. */
export interface FileChanges {
  runtime: Record<string, unknown> | undefined;
  frozen: boolean | undefined;
  /** Records whose status.json must be (re)written. */
  status: Array<[name: string, record: StatusRecord]>;
  /** Workspaces whose status.json must go. */
  removed: string[];
}

const DELETED = Symbol('deleted');

/**
 * The operations of one file-engine transaction: reads see the files as they are (a status.json
 * is re-read when its stat changed) under this transaction's own writes, which stay in memory
 * until commit. A transaction that throws has written nothing.
 */
export class FileTx implements StoreOps {
  private readonly records = new Map<string, StatusRecord | typeof DELETED>();
  private disk: Map<string, StatusRecord> | undefined;
  private runtime: Record<string, unknown> | undefined;
  private runtimeChanged = false;
  private frozen: boolean | undefined;

  constructor(private readonly env: FileEnv) {}

  async get(group: Group, key: string): Promise<unknown> {
    if (group === GROUPS.registry) {
      const record = this.record(key);
      return record && structuredClone(record);
    }
    if (group === GROUPS.concurrency)
      return derivedEntries(group, this.view(), this.env).find(([pool]) => pool === key)?.[1];
    if (DERIVED.has(group)) {
      const record = this.record(key);
      return record && derivedValue(group, key, record, this.env);
    }
    if (group === GROUPS.runtime) return structuredClone(this.loadRuntime()[key]);
    if (group === GROUPS.runner && key === 'frozen')
      return (this.frozen ?? isFrozenFile(this.env.paths)) || undefined;
    return undefined;
  }

  async set(group: Group, key: string, value: unknown): Promise<void> {
    if (group === GROUPS.registry) {
      const record = registryRecord(value);
      if (record === undefined)
        throw new AgenticError('INTERNAL', `not a status record for registry key ${key}`);
      this.records.set(key, structuredClone(record));
    } else if (group === GROUPS.runtime) {
      this.loadRuntime()[key] = structuredClone(value);
      this.runtimeChanged = true;
    } else if (group === GROUPS.runner && key === 'frozen') this.frozen = value === true;
    else this.drop(group, key);
  }

  async delete(group: Group, key: string): Promise<void> {
    if (group === GROUPS.registry) this.records.set(key, DELETED);
    else if (group === GROUPS.runtime) {
      delete this.loadRuntime()[key];
      this.runtimeChanged = true;
    } else if (group === GROUPS.runner && key === 'frozen') this.frozen = false;
    else this.drop(group, key);
  }

  async count(group: Group): Promise<number> {
    return (await this.entries(group)).length;
  }

  async entries(group: Group, page?: EntriesPage): Promise<Array<[string, unknown]>> {
    let all: Array<[string, unknown]>;
    if (group === GROUPS.registry)
      all = [...this.view()].map(([name, record]) => [name, structuredClone(record)]);
    else if (DERIVED.has(group)) all = derivedEntries(group, this.view(), this.env);
    else if (group === GROUPS.runtime)
      all = Object.entries(structuredClone(this.loadRuntime())).sort(([a], [b]) => byteOrder(a, b));
    else if (group === GROUPS.runner)
      all = (await this.get(group, 'frozen')) === true ? [['frozen', true]] : [];
    else all = [];
    if (page === undefined) return all;
    const { after } = page;
    return all
      .filter(([key]) => after === undefined || byteOrder(key, after) > 0)
      .slice(0, page.limit);
  }

  async queuePage(page: QueuePageRequest): Promise<QueueRow[]> {
    return queuePage(this.view(), page);
  }

  async addStats(_row: StatsRow): Promise<void> {
    // The statistics table has no file of its own: stats report `degraded` instead.
  }

  /** What commit must write: records equal to their file and unchanged files are left out. */
  changes(): FileChanges {
    const out: FileChanges = { runtime: undefined, frozen: undefined, status: [], removed: [] };
    for (const [name, slot] of this.records) {
      const onDisk = this.env.statuses.read(name);
      if (slot === DELETED) {
        if (onDisk !== undefined) out.removed.push(name);
      } else if (onDisk === undefined || canonical(onDisk) !== canonical(slot))
        out.status.push([name, slot]);
    }
    if (
      this.runtimeChanged &&
      canonical(this.loadRuntime()) !== canonical(readRuntimeFile(this.env.paths))
    )
      out.runtime = this.loadRuntime();
    if (this.frozen !== undefined && this.frozen !== isFrozenFile(this.env.paths))
      out.frozen = this.frozen;
    return out;
  }

  /** The record of `name` as this transaction sees it. */
  private record(name: string): StatusRecord | undefined {
    const slot = this.records.get(name);
    if (slot !== undefined) return slot === DELETED ? undefined : slot;
    return this.disk ? this.disk.get(name) : this.env.statuses.read(name);
  }

  /** Every record as this transaction sees it, in byte order of the name. */
  private view(): Map<string, StatusRecord> {
    if (this.disk === undefined) {
      this.disk = new Map();
      for (const name of this.env.statuses.names()) {
        const record = this.env.statuses.read(name);
        if (record !== undefined) this.disk.set(name, record);
      }
    }
    const names = new Set([...this.disk.keys(), ...this.records.keys()]);
    const view = new Map<string, StatusRecord>();
    for (const name of [...names].sort(byteOrder)) {
      const record = this.record(name);
      if (record !== undefined) view.set(name, record);
    }
    return view;
  }

  private loadRuntime(): Record<string, unknown> {
    this.runtime ??= readRuntimeFile(this.env.paths);
    return this.runtime;
  }

  /** A write the file engine keeps nowhere: derived groups follow the records by themselves. */
  private drop(group: Group, key: string): void {
    if (DERIVED.has(group)) return;
    if (group === GROUPS.runner)
      this.env.warnOnce(`runner:${key}`, `the file store keeps no runner key ${key}; dropped`);
    else if (group.startsWith('sync_') && group !== GROUPS.syncVersions)
      this.env.warnOnce(group, `the file store keeps no ${group}; the sync state files hold it`);
    // dispatch_history, sync_versions: the journals hold them. nodes: fleet needs PostgreSQL.
  }
}

/** JSON with sorted keys, so two equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => byteOrder(a, b)))
      : v,
  );
}
