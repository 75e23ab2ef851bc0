-- The claim reads the queue in claim order (DESIGN §6: priority high first, then queued_at
-- oldest first, then name) from this index instead of parsing and sorting every entry. The
-- priority is negated so that every column ascends and a page can resume after a row.
-- The expressions must stay exactly those of the engine's queuePage query.
CREATE INDEX kv_queue_order ON kv (
  (-(CASE WHEN jsonb_typeof(value->'priority') = 'number' THEN (value->>'priority')::numeric ELSE 0 END)),
  (CASE WHEN jsonb_typeof(value->'queued_at') = 'string' THEN value->>'queued_at' ELSE '' END) COLLATE "C",
  key COLLATE "C"
) WHERE grp = 'queue';
