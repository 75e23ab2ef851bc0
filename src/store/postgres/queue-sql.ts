/** A queue entry's pool and claim-order columns, exactly as the kv_queue_by_pool index (migration 003) is built. */
const NP = `(-(CASE WHEN jsonb_typeof(value->'priority') = 'number' THEN (value->>'priority')::numeric ELSE 0 END))`;
const Q = `(CASE WHEN jsonb_typeof(value->'queued_at') = 'string' THEN value->>'queued_at' ELSE '' END) COLLATE "C"`;
const POOL = `(split_part(COALESCE(value->>'agent', ''), ':', 1) COLLATE "C")`;
/** Entries $3 (the claiming node) may claim: unpinned, or pinned to it; a NULL $3 may claim all (never NULL itself). */
const CLAIMABLE_HERE = `($3::text IS NULL OR jsonb_typeof(value->'node_affinity') IS DISTINCT FROM 'string' OR value->>'node_affinity' = $3::text)`;
/**
 * A page of the queue in claim order, from the start or after a row ($1 limit, $2 pools left
 * out, $3 the claiming node, $4..$6 the row): the pools with queued work, one index seek each,
 * then the head of each pool not left out, merged. A pool at its limit costs one seek; entries
 * pinned to another node are walked past inside each pool's head (never locked, never counted).
 */
const queuePageSql = (resume: boolean, lock: boolean): string => `WITH RECURSIVE pools (pool) AS (
    (SELECT ${POOL} FROM kv WHERE grp = 'queue' ORDER BY 1 LIMIT 1)
    UNION ALL
    SELECT (SELECT ${POOL} FROM kv WHERE grp = 'queue' AND ${POOL} > pools.pool ORDER BY 1 LIMIT 1)
    FROM pools WHERE pools.pool IS NOT NULL
  )
  SELECT head.* FROM pools, LATERAL (
    SELECT key, value, ${NP} AS np, ${Q} AS q FROM kv
    WHERE grp = 'queue' AND ${POOL} = pools.pool
      ${resume ? `AND (${NP}, ${Q}, key COLLATE "C") > ($4::numeric, $5::text COLLATE "C", $6::text COLLATE "C")` : ''}
      AND ${CLAIMABLE_HERE}
    ORDER BY ${NP}, ${Q}, key COLLATE "C"
    LIMIT $1${lock ? ' FOR UPDATE SKIP LOCKED' : ''}
  ) head
  WHERE pools.pool IS NOT NULL AND NOT (pools.pool = ANY($2::text[]))
  ORDER BY head.np, head.q, head.key COLLATE "C"
  LIMIT $1`;
/** Queue pages from the head: [plain, inside a transaction (rows another claim holds are skipped)]. */
export const QUEUE_HEAD_SQL = [queuePageSql(false, false), queuePageSql(false, true)] as const;
/** Queue pages after a row: [plain, inside a transaction]. */
export const QUEUE_AFTER_SQL = [queuePageSql(true, false), queuePageSql(true, true)] as const;
