-- Groups of key -> JSON value (DESIGN §4).
CREATE TABLE kv (
  grp   TEXT NOT NULL,
  key   TEXT NOT NULL,
  value JSONB NOT NULL,
  PRIMARY KEY (grp, key)
);

-- One row per committed dispatch version, for `agentic workspace stats`.
CREATE TABLE stats (
  id           BIGSERIAL PRIMARY KEY,
  workspace    TEXT NOT NULL,
  repo         TEXT NOT NULL,
  org          TEXT NOT NULL,
  agent        TEXT NOT NULL,
  model        TEXT,
  outcome      TEXT NOT NULL,
  runs         INTEGER NOT NULL,
  duration_ms  BIGINT,
  started_at   TEXT,
  ended_at     TEXT NOT NULL,
  committed_at TEXT NOT NULL,
  fingerprint  TEXT NOT NULL,
  UNIQUE (workspace, fingerprint)
);
CREATE INDEX stats_repo ON stats (repo, id);
CREATE INDEX stats_outcome ON stats (outcome, id);
