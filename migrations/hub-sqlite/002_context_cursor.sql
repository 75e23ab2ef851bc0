-- A hub-wide change counter: each change to what context serves (a dispatch's current version,
-- a note) takes the next value, so a node pages through the changes after a cursor the hub gave
-- it, never after a time from its own clock.
CREATE TABLE hub_counter (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE hub_dispatches ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hub_notes ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;

-- Rows stored before this migration are numbered in the order context served them: time, then row.
CREATE TEMP TABLE hub_backfill (kind TEXT NOT NULL, seq INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, seq));
INSERT INTO hub_backfill (kind, seq, n)
  SELECT kind, seq, ROW_NUMBER() OVER (ORDER BY at, kind, seq) FROM (
    SELECT 'd' AS kind, seq, received_at AS at FROM hub_dispatches
    UNION ALL SELECT 'n' AS kind, seq, created_at AS at FROM hub_notes
  ) AS items;
UPDATE hub_dispatches SET change_seq = (SELECT n FROM hub_backfill b WHERE b.kind = 'd' AND b.seq = hub_dispatches.seq);
UPDATE hub_notes SET change_seq = (SELECT n FROM hub_backfill b WHERE b.kind = 'n' AND b.seq = hub_notes.seq);
INSERT INTO hub_counter (name, value) SELECT 'context', COUNT(*) FROM hub_backfill;
DROP TABLE hub_backfill;

CREATE INDEX hub_dispatches_change ON hub_dispatches (change_seq);
CREATE INDEX hub_notes_change ON hub_notes (change_seq);
