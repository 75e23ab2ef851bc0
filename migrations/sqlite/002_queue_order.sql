-- The claim reads the queue in claim order (DESIGN §6: priority high first, then queued_at
-- oldest first, then name) from this index instead of parsing and sorting every entry. The
-- priority is negated so that every column ascends and a page can resume after a row.
-- The expressions must stay exactly those of the engine's queuePage query.
CREATE INDEX kv_queue_order ON kv (
  (-(CASE WHEN json_type(value, '$.priority') IN ('integer', 'real') THEN json_extract(value, '$.priority') ELSE 0 END)),
  (CASE WHEN json_type(value, '$.queued_at') = 'text' THEN json_extract(value, '$.queued_at') ELSE '' END),
  key
) WHERE grp = 'queue';
