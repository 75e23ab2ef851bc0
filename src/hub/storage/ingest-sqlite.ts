import type { Database as SqliteDatabase, Transaction } from 'better-sqlite3';
import { AgenticError } from '../../lib/errors.js';
import { ingestSql, knownKeyOutcome, saveKeyParams, storedResponse } from './ingest-common.js';
import type { SqlValue } from './queries.js';
import { CONTEXT_COUNTER } from './rows.js';
import type { IngestBatch, IngestOutcome } from './types.js';

/** The SQLite placeholder of the i-th parameter: named, because better-sqlite3 cannot reuse `?`. */
export const sqliteParam = (i: number): string => `@p${String(i)}`;

/** Binds positional parameters to {@link sqliteParam} names; SQLite stores a boolean as 0/1. */
export function sqliteArgs(params: readonly SqlValue[]): Record<string, unknown> {
  return Object.fromEntries(
    params.map((v, i) => [`p${String(i + 1)}`, typeof v === 'boolean' ? (v ? 1 : 0) : v]),
  );
}

/**
 * Prepares the SQLite push transaction (run it with `.immediate()` so the write lock is taken
 * up front): replays or refuses a known Idempotency-Key, inserts each (agent, id, fingerprint)
 * once, advances the current row of each dispatch (with the next value of the change counter,
 * so context pages see it), stamps the agent, remembers the key.
 */
export function prepareSqliteIngest(
  db: SqliteDatabase,
): Transaction<(batch: IngestBatch) => IngestOutcome> {
  const sql = ingestSql(sqliteParam);
  const findKey = db.prepare<[Record<string, unknown>], { request_hash: string; response: string }>(
    sql.findKey,
  );
  const insertVersion = db.prepare(
    `INSERT INTO ${sql.versions}
     VALUES (@agentId, @id, @fingerprint, @fleetNodeId, @json, @receivedAt) ${sql.versionConflict}`,
  );
  const upsertCurrent = db.prepare(
    `INSERT INTO ${sql.current}
     VALUES (@agentId, @id, @fingerprint, @fleetNodeId, @versionMs, @versionRuns, @status, @org, @repo, @agent, @json, @receivedAt, @changeSeq)
     ${sql.currentConflict}`,
  );
  const readCounter = db.prepare<[string], { value: number }>(
    'SELECT value FROM hub_counter WHERE name = ?',
  );
  const writeCounter = db.prepare('UPDATE hub_counter SET value = ? WHERE name = ?');
  const touchAgent = db.prepare(sql.touchAgent);
  const saveKey = db.prepare(sql.saveKey);
  return db.transaction((batch: IngestBatch): IngestOutcome => {
    const key = batch.idempotencyKey;
    if (key !== null) {
      const seen = findKey.get(sqliteArgs([batch.agentId, key]));
      if (seen !== undefined) return knownKeyOutcome(seen, batch);
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
    touchAgent.run(sqliteArgs([batch.agentId, batch.fleetNodeId, batch.receivedAt]));
    const response = storedResponse(batch, accepted);
    if (key !== null) saveKey.run(sqliteArgs(saveKeyParams(batch, key, response)));
    return { kind: 'stored', response };
  });
}
