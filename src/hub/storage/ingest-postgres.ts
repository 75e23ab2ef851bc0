import type pg from 'pg';
import { AgenticError } from '../../lib/errors.js';
import { inTransaction } from '../../store/postgres/transaction.js';
import {
  ingestSql,
  knownKeyOutcome,
  newestPerId,
  saveKeyParams,
  storedResponse,
} from './ingest-common.js';
import type { Param } from './queries.js';
import { CONTEXT_COUNTER } from './rows.js';
import type { IngestBatch, IngestOutcome } from './types.js';

/** The PostgreSQL placeholder of the i-th parameter. */
export const postgresParam: Param = (i) => `$${String(i)}`;

const SQL = ingestSql(postgresParam);

/**
 * Applies one push to PostgreSQL in one transaction: replays or refuses a known
 * Idempotency-Key (per-key advisory lock, so concurrent retries wait), inserts each
 * (agent, id, fingerprint) once, advances the current row of each dispatch (numbered from the
 * change counter, so context pages see it), stamps the agent.
 */
export async function ingestPostgres(pool: pg.Pool, batch: IngestBatch): Promise<IngestOutcome> {
  return inTransaction(pool, async (client) => {
    const key = batch.idempotencyKey;
    if (key !== null) {
      // Serialises requests carrying the same key, so a concurrent retry waits and then replays.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `${batch.agentId}\n${key}`,
      ]);
      const seen = await client.query<{ request_hash: string; response: string }>(SQL.findKey, [
        batch.agentId,
        key,
      ]);
      const row = seen.rows[0];
      if (row !== undefined) return knownKeyOutcome(row, batch);
    }
    const rs = batch.records;
    const inserted = await client.query<{ dispatch_id: string; fingerprint: string }>(
      `INSERT INTO ${SQL.versions}
         SELECT $1, t.id, t.fp, $2, t.rec, $3 FROM unnest($4::text[], $5::text[], $6::text[]) AS t(id, fp, rec)
         ${SQL.versionConflict}
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
      await client.query(
        `INSERT INTO ${SQL.current}
           SELECT $1, t.id, t.fp, $2, t.ms, t.runs, t.status, t.org, t.repo, t.agent, t.rec, $3, t.seq
           FROM unnest($4::text[], $5::text[], $6::bigint[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])
             AS t(id, fp, ms, runs, status, org, repo, agent, rec, seq)
           ${SQL.currentConflict}`,
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
    await client.query(SQL.touchAgent, [batch.agentId, batch.fleetNodeId, batch.receivedAt]);
    const response = storedResponse(batch, inserted.rowCount ?? inserted.rows.length);
    if (key !== null) await client.query(SQL.saveKey, saveKeyParams(batch, key, response));
    return { kind: 'stored', response };
  });
}
