import type { StatusRecord } from '../workspace/index.js';

/**
 * Why a write of `next` over the stored `old` is refused in fleet mode, or undefined when it
 * may go ahead. Two rules keep a node that lost its lease from undoing its successor's work:
 * a record's `epoch` never goes back (a writer holding a copy from before a takeover is stale),
 * and a running record owned by another node changes only through a takeover, which raises the
 * epoch. The writer's own node id is `self`.
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
    nextEpoch === oldEpoch
  )
    return `the record is running on node ${old.node}; only that node may change it`;
  return undefined;
}
