import type pg from 'pg';
import { inTransaction } from '../store/postgres/transaction.js';
import { AgenticError } from '../lib/errors.js';
import { CONTEXT_COUNTER } from './rows.js';
import type { IngestBatch, IngestOutcome, IngestRecord, IngestResponse } from './storage.js';

/** Keeps the highest version per dispatch id, because one INSERT … ON CONFLICT DO UPDATE may touch a row only once. */
function newestPerId(records: IngestRecord[]): IngestRecord[] {
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

/**
 * Applies one push to PostgreSQL in one transaction: replays or refuses a known
 * Idempotency-Key (per-key advisory lock, so concurrent retries wait), inserts each
 * (agent, id, fingerprint) once, advances the current row of each dispatch (numbered from the
 * change counter, so context pages see it), stamps the agent.
 */
export async function ingestPostgres(pool: pg.Pool, batch: IngestBatch): Promise<IngestOutcome> {
  return inTransaction(pool, async (client) => {
    if (batch.idempotencyKey !== null) {
      // Serialises requests carrying the same key, so a concurrent retry waits and then replays.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `${batch.agentId}\n${batch.idempotencyKey}`,
      ]);
      const seen = await client.query<{ request_hash: string; response: string }>(
        'SELECT request_hash, response FROM hub_idempotency WHERE agent_id = $1 AND key = $2',
        [batch.agentId, batch.idempotencyKey],
      );
      const row = seen.rows[0];
      if (row !== undefined) {
        return row.request_hash === batch.requestHash
          ? { kind: 'replayed', response: JSON.parse(row.response) as IngestResponse }
          : { kind: 'key-reused' };
      }
    }
    const rs = batch.records;
    const inserted = await client.query<{ dispatch_id: string; fingerprint: string }>(
      `INSERT INTO hub_dispatch_versions (agent_id, dispatch_id, fingerprint, fleet_node_id, record, received_at)
         SELECT $1, t.id, t.fp, $2, t.rec, $3 FROM unnest($4::text[], $5::text[], $6::text[]) AS t(id, fp, rec)
         ON CONFLICT (agent_id, dispatch_id, fingerprint) DO NOTHING
         RETURNING dispatch_id, fingerprint`,
      [
        batch.agentId,
        batch.fleetNodeId,
        batch.receivedAt,
        rs.map((r) => r.id),
        rs.map((r) => r.fingerprint),
        rs.map((r) => r.json),
      ],
    );
    const fresh = new Set(inserted.rows.map((r) => `${r.dispatch_id}\n${r.fingerprint}`));
    const current = newestPerId(rs.filter((r) => fresh.has(`${r.id}\n${r.fingerprint}`)));
    if (current.length > 0) {
      // The counter row stays locked until COMMIT: transactions commit in the order of their
      // change numbers, so a reader that saw a number has seen every lower one.
      const bumped = await client.query<{ value: string }>(
        'UPDATE hub_counter SET value = value + $1 WHERE name = $2 RETURNING value',
        [current.length, CONTEXT_COUNTER],
      );
      const top = bumped.rows[0]?.value;
      if (top === undefined)
        throw new AgenticError('INTERNAL', 'the hub change counter is missing');
      const first = Number(top) - current.length + 1;
      // Only a higher (updated_at, runs) version replaces the current one.
      await client.query(
        `INSERT INTO hub_dispatches (agent_id, dispatch_id, fingerprint, fleet_node_id, version_ms, version_runs, status, org, repo, agent, record, received_at, change_seq)
           SELECT $1, t.id, t.fp, $2, t.ms, t.runs, t.status, t.org, t.repo, t.agent, t.rec, $3, t.seq
           FROM unnest($4::text[], $5::text[], $6::bigint[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])
             AS t(id, fp, ms, runs, status, org, repo, agent, rec, seq)
           ON CONFLICT (agent_id, dispatch_id) DO UPDATE SET change_seq = EXCLUDED.change_seq,
             fingerprint = EXCLUDED.fingerprint, fleet_node_id = EXCLUDED.fleet_node_id,
             version_ms = EXCLUDED.version_ms, version_runs = EXCLUDED.version_runs,
             status = EXCLUDED.status, org = EXCLUDED.org, repo = EXCLUDED.repo, agent = EXCLUDED.agent,
             record = EXCLUDED.record, received_at = EXCLUDED.received_at
           WHERE (EXCLUDED.version_ms, EXCLUDED.version_runs) >= (hub_dispatches.version_ms, hub_dispatches.version_runs)`,
        [
          batch.agentId,
          batch.fleetNodeId,
          batch.receivedAt,
          current.map((r) => r.id),
          current.map((r) => r.fingerprint),
          current.map((r) => r.versionMs),
          current.map((r) => r.versionRuns),
          current.map((r) => r.status),
          current.map((r) => r.org),
          current.map((r) => r.repo),
          current.map((r) => r.agent),
          current.map((r) => r.json),
          current.map((_, i) => first + i),
        ],
      );
    }
    await client.query(
      `INSERT INTO hub_agents (agent_id, fleet_node_id, last_push_at) VALUES ($1, $2, $3)
         ON CONFLICT (agent_id) DO UPDATE SET last_push_at = EXCLUDED.last_push_at,
           fleet_node_id = COALESCE(EXCLUDED.fleet_node_id, hub_agents.fleet_node_id)`,
      [batch.agentId, batch.fleetNodeId, batch.receivedAt],
    );
    const accepted = inserted.rowCount ?? inserted.rows.length;
    const response = { accepted, duplicates: rs.length - accepted };
    if (batch.idempotencyKey !== null)
      await client.query(
        'INSERT INTO hub_idempotency (agent_id, key, request_hash, response, created_at) VALUES ($1, $2, $3, $4, $5)',
        [
          batch.agentId,
          batch.idempotencyKey,
          batch.requestHash,
          JSON.stringify(response),
          batch.receivedAt,
        ],
      );
    return { kind: 'stored', response };
  });
}
