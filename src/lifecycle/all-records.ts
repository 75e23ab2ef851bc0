import type { AppContext } from '../context.js';
import { GROUPS } from '../store/index.js';
import type { StatusRecord } from '../workspace/index.js';

/**
 * Every workspace record, from the registry (in degraded mode the file engine reads it from the
 * status.json files). Invalid registry values are reported and skipped. The validator (and with
 * it zod) is loaded only when there is a record to check, so `agentic status` on an empty root
 * starts as fast as the CLI can.
 */
export async function readAllRecords(ctx: AppContext): Promise<Map<string, StatusRecord>> {
  const store = await ctx.store();
  const records = new Map<string, StatusRecord>();
  const entries = await store.entries(GROUPS.registry);
  if (entries.length === 0) return records;
  const { registryRecord } = await import('../workspace/record-schema.js');
  for (const [name, value] of entries) {
    const record = registryRecord(value);
    if (record) records.set(name, record);
    else ctx.logger.warn({ workspace: name }, 'skipping invalid registry entry');
  }
  return records;
}
