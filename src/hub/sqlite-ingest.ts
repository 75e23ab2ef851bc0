import type { Database as SqliteDatabase, Transaction } from 'better-sqlite3';
import { AgenticError } from '../lib/errors.js';
import { CONTEXT_COUNTER } from './rows.js';
import type { IngestBatch, IngestOutcome, IngestResponse } from './storage.js';

/**
 * Prepares the SQLite push transaction (run it with `.immediate()` so the write lock is taken
 * up front): replays or refuses a known Idempotency-Key, inserts each (agent, id, fingerprint)
 * once, advances the current row of each dispatch (with the next value of the change counter,
 * so context pages see it), stamps the agent, remembers the key.
 */
export function prepareSqliteIngest(
  db: SqliteDatabase,
): Transaction<(batch: IngestBatch) => IngestOutcome> {
  const findKey = db.prepare<[string, string], { request_hash: string; response: string }>(
    'SELECT request_hash, response FROM hub_idempotency WHERE agent_id = ? AND key = ?',
  );
  const insertVersion = db.prepare(
    `INSERT INTO hub_dispatch_versions (agent_id, dispatch_id, fingerprint, fleet_node_id, record, received_at)
     VALUES (@agentId, @id, @fingerprint, @fleetNodeId, @json, @receivedAt)
     ON CONFLICT (agent_id, dispatch_id, fingerprint) DO NOTHING`,
  );
  // Only a higher (updated_at, runs) version replaces the current one, so a late retry of an
  // old version never rolls the dashboard back.
  const upsertCurrent = db.prepare(
    `INSERT INTO hub_dispatches (agent_id, dispatch_id, fingerprint, fleet_node_id, version_ms, version_runs, status, org, repo, agent, record, received_at, change_seq)
     VALUES (@agentId, @id, @fingerprint, @fleetNodeId, @versionMs, @versionRuns, @status, @org, @repo, @agent, @json, @receivedAt, @changeSeq)
     ON CONFLICT (agent_id, dispatch_id) DO UPDATE SET change_seq = excluded.change_seq,
       fingerprint = excluded.fingerprint, fleet_node_id = excluded.fleet_node_id,
       version_ms = excluded.version_ms, version_runs = excluded.version_runs,
       status = excluded.status, org = excluded.org, repo = excluded.repo, agent = excluded.agent,
       record = excluded.record, received_at = excluded.received_at
     WHERE (excluded.version_ms, excluded.version_runs) >= (hub_dispatches.version_ms, hub_dispatches.version_runs)`,
  );
  const readCounter = db.prepare<[string], { value: number }>(
    'SELECT value FROM hub_counter WHERE name = ?',
  );
  const writeCounter = db.prepare('UPDATE hub_counter SET value = ? WHERE name = ?');
  const touchAgent = db.prepare(
    `INSERT INTO hub_agents (agent_id, fleet_node_id, last_push_at) VALUES (?, ?, ?)
     ON CONFLICT (agent_id) DO UPDATE SET last_push_at = excluded.last_push_at,
       fleet_node_id = COALESCE(excluded.fleet_node_id, hub_agents.fleet_node_id)`,
  );
  const saveKey = db.prepare(
    'INSERT INTO hub_idempotency (agent_id, key, request_hash, response, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  return db.transaction((batch: IngestBatch): IngestOutcome => {
    if (batch.idempotencyKey !== null) {
      const seen = findKey.get(batch.agentId, batch.idempotencyKey);
      if (seen !== undefined) {
        return seen.request_hash === batch.requestHash
          ? { kind: 'replayed', response: JSON.parse(seen.response) as IngestResponse }
          : { kind: 'key-reused' };
      }
    }
    let accepted = 0;
    const start = readCounter.get(CONTEXT_COUNTER)?.value;
    if (start === undefined)
      throw new AgenticError('INTERNAL', 'the hub change counter is missing');
    let changeSeq = start;
    for (const r of batch.records) {
      const row = {
        ...r,
        agentId: batch.agentId,
        fleetNodeId: batch.fleetNodeId,
        receivedAt: batch.receivedAt,
        changeSeq: changeSeq + 1,
      };
      if (insertVersion.run(row).changes === 0) continue;
      accepted++;
      if (upsertCurrent.run(row).changes > 0) changeSeq += 1;
    }
    if (changeSeq !== start) writeCounter.run(changeSeq, CONTEXT_COUNTER);
    touchAgent.run(batch.agentId, batch.fleetNodeId, batch.receivedAt);
    const response = { accepted, duplicates: batch.records.length - accepted };
    if (batch.idempotencyKey !== null)
      saveKey.run(
        batch.agentId,
        batch.idempotencyKey,
        batch.requestHash,
        JSON.stringify(response),
        batch.receivedAt,
      );
    return { kind: 'stored', response };
  });
}
