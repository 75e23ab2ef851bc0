import type pg from 'pg';
import type { Group, OneCallOps, QueueClaimResult, RunEndResult } from '../types.js';

/**
 * The one-call claim and run end of migration 004 on `pool`. Each call is one statement, its
 * own transaction; `retrying` runs it again after a deadlock or lock timeout, as the engine
 * does its transactions. Statements are prepared once per connection (named).
 */
export function oneCallOn(
  pool: pg.Pool,
  retrying: <T>(attempt: () => Promise<T>) => Promise<T>,
): OneCallOps {
  return {
    read: async (keys) => {
      const res = await pool.query<{ grp: string; key: string; value: unknown }>({
        name: 'agentic_read_many',
        text: 'SELECT grp, key, value FROM kv WHERE (grp, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
        values: [keys.map(([group]) => group), keys.map(([, key]) => key)],
      });
      return new Map(res.rows.map((r) => [`${r.grp as Group}/${r.key}`, r.value]));
    },
    claim: async (request) => {
      const res = await retrying(() =>
        pool.query<{ kind: string; name: string | null; value: unknown }>({
          name: 'agentic_claim',
          text: 'SELECT kind, name, value FROM agentic_claim($1, $2, $3, $4, $5)',
          values: [
            request.node,
            request.max,
            request.now,
            [...request.skipPools],
            JSON.stringify(request.limits),
          ],
        }),
      );
      const out: QueueClaimResult = { frozen: false, claims: [], waitingPools: [] };
      for (const row of res.rows) {
        if (row.kind === 'frozen') out.frozen = true;
        else if (row.kind === 'claim' && row.name !== null)
          out.claims.push({ name: row.name, value: row.value });
        else if (row.kind === 'waiting' && row.name !== null) out.waitingPools.push(row.name);
      }
      return out;
    },
    end: async (node, now, items) => {
      const res = await retrying(() =>
        pool.query<{ kind: string; name: string; value: unknown }>({
          name: 'agentic_end',
          text: 'SELECT kind, name, value FROM agentic_end($1, $2, $3)',
          values: [node, now, JSON.stringify(items)],
        }),
      );
      const out: RunEndResult = { ended: new Map(), missed: [] };
      for (const row of res.rows) {
        if (row.kind === 'ended') out.ended.set(row.name, row.value);
        else out.missed.push(row.name);
      }
      return out;
    },
  };
}
