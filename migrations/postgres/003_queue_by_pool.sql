-- The claim reads the queue one pool at a time: the pools that have queued work (a seek per
-- pool), then the head of each pool it may start, in claim order (DESIGN §6: priority high
-- first, then queued_at oldest first, then name). Migration 002's index put every pool in one
-- order, so a pool at its limit had to be walked past, entry by entry, on every claim.
-- The priority is negated so that every column ascends and a page can resume after a row.
-- The expressions must stay exactly those of the engine's queue query.
DROP INDEX kv_queue_order;
CREATE INDEX kv_queue_by_pool ON kv (
  (split_part(COALESCE(value->>'agent', ''), ':', 1) COLLATE "C"),
  (-(CASE WHEN jsonb_typeof(value->'priority') = 'number' THEN (value->>'priority')::numeric ELSE 0 END)),
  (CASE WHEN jsonb_typeof(value->'queued_at') = 'string' THEN value->>'queued_at' ELSE '' END) COLLATE "C",
  key COLLATE "C"
) WHERE grp = 'queue';
