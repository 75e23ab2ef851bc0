import type pg from 'pg';
import type { StoreOps } from '../types.js';
import { QUEUE_AFTER_SQL, QUEUE_HEAD_SQL } from './queue-sql.js';

/** A pooled connection or the pool itself: whatever runs a query. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Operations on a pooled connection, or (`inTx`) inside one transaction: there every read of a
 * key locks its row until COMMIT (SELECT … FOR UPDATE), and a read that finds no row takes a
 * transaction advisory lock on that one key, so a read-check-write never interleaves with
 * another node's on the same key — the per-pool running counter included, which is how pool
 * limits hold fleet-wide. Queue pages skip rows another transaction holds (SKIP LOCKED).
 */
export function opsOn(db: Queryable, inTx: boolean): StoreOps {
  // Rows this transaction holds locked, as it last read or wrote them: nobody else can change
  // them before COMMIT, so a second read of one (a record checked, then changed through track)
  // costs no round trip. Keys found absent are not kept: their lock is advisory only.
  const held = new Map<string, string>();
  const select = async (group: string, key: string, lock: boolean): Promise<unknown> => {
    const res = await db.query<{ value: unknown }>(
      `SELECT value FROM kv WHERE grp = $1 AND key = $2${lock ? ' FOR UPDATE' : ''}`,
      [group, key],
    );
    const value = res.rows[0]?.value;
    if (lock && value !== undefined) held.set(`${group}/${key}`, JSON.stringify(value));
    return value;
  };
  return {
    get: async (group, key) => {
      const known = held.get(`${group}/${key}`);
      if (known !== undefined) return JSON.parse(known) as unknown;
      const value = await select(group, key, inTx);
      if (!inTx || value !== undefined) return value;
      await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${group}/${key}`]);
      return select(group, key, true);
    },
    set: async (group, key, value) => {
      const text = JSON.stringify(value);
      await db.query(
        'INSERT INTO kv (grp, key, value) VALUES ($1, $2, $3::jsonb) ON CONFLICT (grp, key) DO UPDATE SET value = EXCLUDED.value',
        [group, key, text],
      );
      // Written here, so locked by this transaction until COMMIT.
      if (inTx) held.set(`${group}/${key}`, text);
    },
    delete: async (group, key) => {
      await db.query('DELETE FROM kv WHERE grp = $1 AND key = $2', [group, key]);
      held.delete(`${group}/${key}`);
    },
    count: async (group) => {
      const res = await db.query<{ n: number }>(
        'SELECT COUNT(*)::int AS n FROM kv WHERE grp = $1',
        [group],
      );
      return res.rows[0]?.n ?? 0;
    },
    addStats: async (row) => {
      await db.query(
        `INSERT INTO stats (workspace, repo, org, agent, model, outcome, runs, duration_ms, started_at, ended_at, committed_at, fingerprint)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (workspace, fingerprint) DO NOTHING`,
        [
          row.workspace,
          row.repo,
          row.org,
          row.agent,
          row.model,
          row.outcome,
          row.runs,
          row.duration_ms,
          row.started_at,
          row.ended_at,
          row.committed_at,
          row.fingerprint,
        ],
      );
    },
    entries: async (group, page) => {
      // A NULL limit is no limit, a NULL `after` no lower bound.
      const res = await db.query<{ key: string; value: unknown }>(
        'SELECT key, value FROM kv WHERE grp = $1 AND ($3::text IS NULL OR key > $3) ORDER BY key LIMIT $2',
        [group, page?.limit ?? null, page?.after ?? null],
      );
      return res.rows.map((r) => [r.key, r.value]);
    },
    queuePage: async ({ limit, after, skipPools = [], node }) => {
      const head = [limit, [...skipPools], node ?? null];
      const res = await db.query<{ key: string; value: unknown; np: string; q: string }>(
        (after ? QUEUE_AFTER_SQL : QUEUE_HEAD_SQL)[inTx ? 1 : 0],
        after ? [...head, ...after] : head,
      );
      return res.rows.map((r) => ({
        name: r.key,
        value: r.value,
        cursor: [Number(r.np), r.q, r.key] as const,
      }));
    },
  };
}
