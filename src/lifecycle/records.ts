import type { AppContext } from '../context.js';
import { GROUPS, type StoreOps } from '../store/index.js';
import { discoverWorkspaces, workspaceDir, type StatusRecord } from '../workspace/index.js';
import { readStatusFile } from '../workspace/status-file.js';
import { registryRecord } from '../workspace/record-schema.js';

/** One workspace's record: registry first, else status.json; undefined when neither exists. */
export async function readRecord(ctx: AppContext, name: string): Promise<StatusRecord | undefined> {
  const store = await ctx.store();
  const record = registryRecord(await store.get(GROUPS.registry, name));
  if (record) return record;
  const read = readStatusFile(workspaceDir(ctx.config.workspaceRoot, name), ctx.clock.now());
  if (read.kind === 'corrupt') reportCorrupt(ctx, name, read.movedTo, read.reason);
  return read.kind === 'ok' ? read.record : undefined;
}

/** The registry record inside a transaction; undefined when there is none or it is invalid. */
export async function recordInTx(tx: StoreOps, name: string): Promise<StatusRecord | undefined> {
  return registryRecord(await tx.get(GROUPS.registry, name));
}

/** Reads every status.json under the workspace root (the rebuild of a lost database); corrupt files are quarantined and reported. */
export function scanDiskRecords(ctx: AppContext): Map<string, StatusRecord> {
  const records = new Map<string, StatusRecord>();
  for (const name of discoverWorkspaces(ctx.config.workspaceRoot)) {
    const read = readStatusFile(workspaceDir(ctx.config.workspaceRoot, name), ctx.clock.now());
    if (read.kind === 'ok') records.set(name, read.record);
    else if (read.kind === 'corrupt') reportCorrupt(ctx, name, read.movedTo, read.reason);
  }
  return records;
}

function reportCorrupt(ctx: AppContext, name: string, movedTo: string, reason: string): void {
  ctx.logger.warn(
    { workspace: name, moved_to: movedTo, reason },
    'corrupt status.json quarantined',
  );
}
