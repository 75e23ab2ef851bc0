/** A queue entry's pool and claim-order columns, exactly as the kv_queue_by_pool index (migration 003) is built. */
const NP = `-(CASE WHEN json_type(value, '$.priority') IN ('integer', 'real') THEN json_extract(value, '$.priority') ELSE 0 END)`;
const Q = `(CASE WHEN json_type(value, '$.queued_at') = 'text' THEN json_extract(value, '$.queued_at') ELSE '' END)`;
const AGENT = `COALESCE(json_extract(value, '$.agent'), '')`;
const POOL = `(CASE WHEN instr(${AGENT}, ':') > 0 THEN substr(${AGENT}, 1, instr(${AGENT}, ':') - 1) ELSE ${AGENT} END)`;
/** Entries @node may claim: unpinned, or pinned to it; a NULL @node may claim all (never NULL itself). */
const CLAIMABLE_HERE = `(@node IS NULL OR json_type(value, '$.node_affinity') IS NOT 'text' OR json_extract(value, '$.node_affinity') = @node)`;
/**
 * The pools with queued work, one index seek each: the first, then the next after @pool. The
 * index is named: without table statistics the planner would rather scan than seek.
 */
export const queuePoolSql = (next: boolean): string => `SELECT ${POOL} AS pool
  FROM kv INDEXED BY kv_queue_by_pool
  WHERE grp = 'queue' ${next ? `AND ${POOL} > @pool` : ''}
  ORDER BY ${POOL} LIMIT 1`;
/**
 * The head of one pool's queue in claim order, from the start or after the given row, without
 * the entries pinned to another node (the seek walks past them, so they never fill the page).
 */
export const queuePageSql = (resume: boolean): string => `SELECT key, value, ${NP} AS np, ${Q} AS q
  FROM kv INDEXED BY kv_queue_by_pool
  WHERE grp = 'queue' AND ${POOL} = @pool ${resume ? `AND (${NP}, ${Q}, key) > (@np, @q, @key)` : ''}
    AND ${CLAIMABLE_HERE}
  ORDER BY ${NP}, ${Q}, key
  LIMIT @limit`;
/** A row of one pool's queue page, with its claim-order columns. */
export interface QueuePageRow {
  key: string;
  value: string;
  np: number;
  q: string;
}
/**
 * The parameters of {@link queuePageSql}: the pool, the page size, the claiming node (null: no
 * filter) and the row to resume after.
 */
export interface QueuePageParams {
  pool: string;
  limit: number;
  node: string | null;
  np?: number;
  q?: string;
  key?: string;
}
