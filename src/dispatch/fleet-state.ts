import type { AgentsFile } from '../config/index.js';
import type { AppContext } from '../context.js';
import { effectiveFileOf, FLEET_SETTINGS_ROW } from '../fleet/settings.js';
import { GROUPS, type Group, type OneCallOps } from '../store/index.js';
import { registryRecord } from '../workspace/record-schema.js';
import type { StatusRecord } from '../workspace/index.js';
import { RUNTIME_ROWS, runtimeOf, type RuntimeState } from './runtime-state.js';

/** What a fleet claim or run end counts with, read in one query without locks. */
export interface FleetState {
  /** This node's agents.yaml with the fleet's limits, rates and back-off policy. */
  file: AgentsFile;
  runtime: RuntimeState;
  /** The registry records asked for (missing or unreadable ones are absent). */
  records: Map<string, StatusRecord>;
}

/**
 * Reads the fleet's settings, runtime state and the registry records of `names` in one round
 * trip, locking nothing: a claim or run end checks what it relies on again in its own call.
 */
export async function readFleetState(
  ctx: AppContext,
  oneCall: OneCallOps,
  names: readonly string[] = [],
): Promise<FleetState> {
  const rows: Array<readonly [Group, string]> = [
    FLEET_SETTINGS_ROW,
    ...RUNTIME_ROWS,
    ...names.map((name) => [GROUPS.registry, name] as const),
  ];
  const values = await oneCall.read(rows);
  const records = new Map<string, StatusRecord>();
  for (const name of names) {
    const record = registryRecord(values.get(`${GROUPS.registry}/${name}`));
    if (record !== undefined) records.set(name, record);
  }
  return {
    file: await effectiveFileOf(ctx, values.get(FLEET_SETTINGS_ROW.join('/'))),
    runtime: runtimeOf((key) => values.get(`${GROUPS.runtime}/${key}`)),
    records,
  };
}
