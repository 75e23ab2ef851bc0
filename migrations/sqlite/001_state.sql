-- Groups of key -> JSON value (DESIGN §4).
CREATE TABLE kv (
  grp   TEXT NOT NULL,
  key   TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (grp, key)
) WITHOUT ROWID;

-- One row per committed dispatch version, for `agentic workspace stats`.
CREATE TABLE stats (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace    TEXT NOT NULL,
  repo         TEXT NOT NULL,
  org          TEXT NOT NULL,
  agent        TEXT NOT NULL,
  model        TEXT,
  outcome      TEXT NOT NULL,
  runs         INTEGER NOT NULL,
  duration_ms  INTEGER,
  started_at   TEXT,
  ended_at     TEXT NOT NULL,
  committed_at TEXT NOT NULL,
  fingerprint  TEXT NOT NULL,
  UNIQUE (workspace, fingerprint)
);
CREATE INDEX stats_repo ON stats (repo, id);
CREATE INDEX stats_outcome ON stats (outcome, id);
