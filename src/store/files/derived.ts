import { isoUtc } from '../../lib/clock.js';
import { byteOrder } from '../../lib/text.js';
import { isCommitted } from '../../workspace/commit-marker.js';
import {
  fingerprintOf,
  isTerminal,
  modelOf,
  poolOf,
  queueEntryOf,
  type StatusRecord,
} from '../../workspace/index.js';
import {
  compareQueueCursors,
  GROUPS,
  type ConcurrencySnapshot,
  type Group,
  type QueuePageRequest,
  type QueueRow,
} from '../types.js';

/**
 * The groups the file engine computes from the records (and commit markers) instead of storing:
 * they are pure functions of them, so a write to one is already implied by the record written
 * with it and is dropped.
 */
export const DERIVED: ReadonlySet<Group> = new Set<Group>([
  GROUPS.queue,
  GROUPS.running,
  GROUPS.concurrency,
  GROUPS.uncommitted,
]);

/** What the derived views need besides the records. */
export interface DerivedEnv {
  /** A workspace's directory, where its commit marker lives. */
  dir(name: string): string;
  /** A pool's total limit, for the `concurrency` snapshot. */
  limitOf(pool: string): number;
  now(): Date;
}

/** Every entry of a derived group, in byte order of the key, computed from `records`. */
export function derivedEntries(
  group: Group,
  records: ReadonlyMap<string, StatusRecord>,
  env: DerivedEnv,
): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  if (group === GROUPS.concurrency) {
    const snapshots = new Map<string, ConcurrencySnapshot>();
    for (const record of records.values()) {
      if (record.status !== 'running') continue;
      const pool = poolOf(record.agent);
      const snap = snapshots.get(pool) ?? {
        running: 0,
        limit: env.limitOf(pool),
        snapshot_at: isoUtc(env.now()),
        models: {},
      };
      snap.running += 1;
      const model = modelOf(record.agent);
      if (model !== undefined) snap.models[model] = (snap.models[model] ?? 0) + 1;
      snapshots.set(pool, snap);
    }
    out.push(...snapshots);
  } else {
    for (const [name, record] of records) {
      const value = derivedValue(group, name, record, env);
      if (value !== undefined) out.push([name, value]);
    }
  }
  return out.sort(([a], [b]) => byteOrder(a, b));
}

/** The value of one record's key in a derived group other than `concurrency` (keyed by pool). */
export function derivedValue(
  group: Group,
  name: string,
  record: StatusRecord,
  env: DerivedEnv,
): unknown {
  switch (group) {
    case GROUPS.queue:
      return record.status === 'queued' ? queueEntryOf(record) : undefined;
    case GROUPS.running:
      return record.status === 'running' ? record.agent : undefined;
    case GROUPS.uncommitted:
      return isTerminal(record.status) && !isCommitted(env.dir(name), record)
        ? fingerprintOf(record)
        : undefined;
    default:
      return undefined;
  }
}

/**
 * The queue in claim order, as the SQL engines page it: `-priority`, then `queued_at` (falling
 * back to `updated_at`), then the name, strings in byte order; rows of pools in `skipPools`, and
 * with `node` rows pinned to another node, left out, the page starting strictly after `after` and cut at `limit`.
 */
export function queuePage(
  records: ReadonlyMap<string, StatusRecord>,
  { limit, after, skipPools = [], node }: QueuePageRequest,
): QueueRow[] {
  const rows: QueueRow[] = [];
  for (const [name, record] of records) {
    if (record.status !== 'queued' || skipPools.includes(poolOf(record.agent))) continue;
    if (node !== undefined && record.node_affinity !== undefined && record.node_affinity !== node)
      continue;
    const value = queueEntryOf(record);
    // 0 - p, not -p: a priority of 0 gives +0, as SQLite returns it.
    const row: QueueRow = { name, value, cursor: [0 - value.priority, value.queued_at, name] };
    if (after === undefined || compareQueueCursors(row.cursor, after) > 0) rows.push(row);
  }
  return rows.sort((a, b) => compareQueueCursors(a.cursor, b.cursor)).slice(0, limit);
}
