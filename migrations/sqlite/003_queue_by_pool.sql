-- The claim reads the queue one pool at a time: the pools that have queued work (a seek per
-- pool), then the head of each pool it may start, in claim order (DESIGN §6: priority high
-- first, then queued_at oldest first, then name). Migration 002's index put every pool in one
-- order, so a pool at its limit had to be walked past, entry by entry, on every claim.
-- The priority is negated so that every column ascends and a page can resume after a row.
-- The expressions must stay exactly those of the engine's queue queries.
DROP INDEX kv_queue_order;
CREATE INDEX kv_queue_by_pool ON kv (
  (CASE WHEN instr(COALESCE(json_extract(value, '$.agent'), ''), ':') > 0 THEN substr(COALESCE(json_extract(value, '$.agent'), ''), 1, instr(COALESCE(json_extract(value, '$.agent'), ''), ':') - 1) ELSE COALESCE(json_extract(value, '$.agent'), '') END),
  (-(CASE WHEN json_type(value, '$.priority') IN ('integer', 'real') THEN json_extract(value, '$.priority') ELSE 0 END)),
  (CASE WHEN json_type(value, '$.queued_at') = 'text' THEN json_extract(value, '$.queued_at') ELSE '' END),
  key
) WHERE grp = 'queue';
