import { isDeepStrictEqual } from 'node:util';
import type { StatusRecord } from '../workspace/index.js';

/**
 * Why a write of `next` over the stored `old` is refused in fleet mode, or undefined when it
 * may go ahead. Two rules keep a node that lost its lease from undoing its successor's work:
 * a record's `epoch` never goes back (a writer holding a copy from before a takeover is stale),
 * and a running record owned by another node changes only through a takeover, which raises the
 * epoch. The one change any node may make to it is recording a kill intent (`kill_reason`, a
 * cancel or an operator's kill): its owner acts on it, since only the owner can signal the
 * agent. The writer's own node id is `self`.
 */
export function fenceViolation(
  old: StatusRecord | undefined,
  next: StatusRecord | null,
  self: string,
): string | undefined {
  if (old === undefined || next === null) return undefined;
  const oldEpoch = old.epoch ?? 0;
  const nextEpoch = next.epoch ?? 0;
  if (nextEpoch < oldEpoch)
    return `the record was taken over (epoch ${oldEpoch}, the writer holds ${nextEpoch})`;
  if (
    old.status === 'running' &&
    old.node !== undefined &&
    old.node !== self &&
    nextEpoch === oldEpoch &&
    !onlyRecordsKillIntent(old, next)
  )
    return `the record is running on node ${old.node}; only that node may change it`;
  return undefined;
}

/** True when `next` is `old` with a kill reason recorded and nothing else changed but the stamp. */
function onlyRecordsKillIntent(old: StatusRecord, next: StatusRecord): boolean {
  if (next.kill_reason === undefined || next.status !== 'running') return false;
  const { updated_at: _a, kill_reason: _b, ...was } = old;
  const { updated_at: _c, kill_reason: _d, ...now } = next;
  // Through JSON, as the store keeps them: a key set to undefined is no change.
  return isDeepStrictEqual(JSON.parse(JSON.stringify(was)), JSON.parse(JSON.stringify(now)));
}
