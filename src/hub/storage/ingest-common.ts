import type { Param } from './queries.js';
import type { IngestBatch, IngestOutcome, IngestRecord, IngestResponse } from './types.js';

/**
 * The statements both push paths share, with `p` placing the parameters: the stored answer to
 * an Idempotency-Key (agent, key), remembering one (agent, key, request hash, response, time),
 * stamping an agent's last push (agent, fleet node, time; a known node stays when none is
 * given), and the tables and conflict clauses of the version and current-row inserts.
 */
export function ingestSql(p: Param) {
  return {
    findKey: `SELECT request_hash, response FROM hub_idempotency WHERE agent_id = ${p(1)} AND key = ${p(2)}`,
    saveKey: `INSERT INTO hub_idempotency (agent_id, key, request_hash, response, created_at) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})`,
    touchAgent: `INSERT INTO hub_agents (agent_id, fleet_node_id, last_push_at) VALUES (${p(1)}, ${p(2)}, ${p(3)})
     ON CONFLICT (agent_id) DO UPDATE SET last_push_at = excluded.last_push_at,
       fleet_node_id = COALESCE(excluded.fleet_node_id, hub_agents.fleet_node_id)`,
    /** The version table and its columns, in insert order. */
    versions:
      'hub_dispatch_versions (agent_id, dispatch_id, fingerprint, fleet_node_id, record, received_at)',
    /** Each (agent, id, fingerprint) is stored once; a repeat is a duplicate. */
    versionConflict: 'ON CONFLICT (agent_id, dispatch_id, fingerprint) DO NOTHING',
    /** The current-row table and its columns, in insert order. */
    current:
      'hub_dispatches (agent_id, dispatch_id, fingerprint, fleet_node_id, version_ms, version_runs, status, org, repo, agent, record, received_at, change_seq)',
    /**
     * Only a higher (updated_at, runs) version replaces the current one, so a late retry of an
     * old version never rolls the dashboard back.
     */
    currentConflict: `ON CONFLICT (agent_id, dispatch_id) DO UPDATE SET change_seq = excluded.change_seq,
       fingerprint = excluded.fingerprint, fleet_node_id = excluded.fleet_node_id,
       version_ms = excluded.version_ms, version_runs = excluded.version_runs,
       status = excluded.status, org = excluded.org, repo = excluded.repo, agent = excluded.agent,
       record = excluded.record, received_at = excluded.received_at
     WHERE (excluded.version_ms, excluded.version_runs) >= (hub_dispatches.version_ms, hub_dispatches.version_runs)`,
  } as const;
}

/** What a push whose key the hub already answered gets: the same answer, or a refusal for another body. */
export function knownKeyOutcome(
  seen: { request_hash: string; response: string },
  batch: IngestBatch,
): IngestOutcome {
  return seen.request_hash === batch.requestHash
    ? { kind: 'replayed', response: JSON.parse(seen.response) as IngestResponse }
    : { kind: 'key-reused' };
}

/** The answer to a stored push: how many records were new, how many the hub already had. */
export function storedResponse(batch: IngestBatch, accepted: number): IngestResponse {
  return { accepted, duplicates: batch.records.length - accepted };
}

/** The parameters of the `saveKey` statement of {@link ingestSql} for a push with a key. */
export function saveKeyParams(batch: IngestBatch, key: string, response: IngestResponse): string[] {
  return [batch.agentId, key, batch.requestHash, JSON.stringify(response), batch.receivedAt];
}

/** Keeps the highest version per dispatch id, because one INSERT … ON CONFLICT DO UPDATE may touch a row only once. */
export function newestPerId(records: IngestRecord[]): IngestRecord[] {
  const best = new Map<string, IngestRecord>();
  for (const r of records) {
    const have = best.get(r.id);
    if (
      have === undefined ||
      r.versionMs > have.versionMs ||
      (r.versionMs === have.versionMs && r.versionRuns >= have.versionRuns)
    )
      best.set(r.id, r);
  }
  return [...best.values()];
}
