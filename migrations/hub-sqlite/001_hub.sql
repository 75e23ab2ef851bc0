-- Hub tokens: only the SHA-256 of a token is stored; agent_id is NULL for operator (admin) tokens.
CREATE TABLE hub_tokens (
  token_hash TEXT PRIMARY KEY,
  agent_id   TEXT,
  admin      INTEGER NOT NULL CHECK (admin IN (0, 1)),
  created_at TEXT NOT NULL
) WITHOUT ROWID;

-- Every version of every dispatch record pushed: (agent_id, dispatch_id, fingerprint) is stored once.
CREATE TABLE hub_dispatch_versions (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  agent_id      TEXT NOT NULL,
  dispatch_id   TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  fleet_node_id TEXT,
  record        TEXT NOT NULL,
  received_at   TEXT NOT NULL,
  UNIQUE (agent_id, dispatch_id, fingerprint)
);

-- The newest version of each dispatch (by updated_at, then runs): what context and the dashboard show.
CREATE TABLE hub_dispatches (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  agent_id      TEXT NOT NULL,
  dispatch_id   TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  fleet_node_id TEXT,
  version_ms    INTEGER NOT NULL,
  version_runs  INTEGER NOT NULL,
  status        TEXT,
  org           TEXT,
  repo          TEXT,
  agent         TEXT,
  record        TEXT NOT NULL,
  received_at   TEXT NOT NULL,
  UNIQUE (agent_id, dispatch_id)
);
CREATE INDEX hub_dispatches_received ON hub_dispatches (received_at, seq);
CREATE INDEX hub_dispatches_status ON hub_dispatches (status);

-- Operator notes; target_agent_id NULL = for every agent.
CREATE TABLE hub_notes (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  target_agent_id TEXT,
  note            TEXT NOT NULL,
  created_at      TEXT NOT NULL
);
CREATE INDEX hub_notes_created ON hub_notes (created_at, seq);

-- What the hub has seen of each agent.
CREATE TABLE hub_agents (
  agent_id      TEXT PRIMARY KEY,
  fleet_node_id TEXT,
  last_push_at  TEXT,
  last_pull_at  TEXT
) WITHOUT ROWID;

-- Idempotency-Key replay cache, per agent.
CREATE TABLE hub_idempotency (
  agent_id     TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response     TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (agent_id, key)
) WITHOUT ROWID;
CREATE INDEX hub_idempotency_created ON hub_idempotency (created_at);
