import { contextChangeSql } from './rows.js';
import type { DashboardFilter } from './types.js';

/** Writes the placeholder of the i-th parameter (from 1) in the engine's syntax. */
export type Param = (i: number) => string;

/** A statement and its parameters, in placeholder order. */
export interface Query {
  sql: string;
  params: SqlValue[];
}

/** What a parameter may be; an array only where the engine has arrays (`= ANY`). */
export type SqlValue = string | number | boolean | null | readonly string[];

const DISPATCH_COLUMNS = 'agent_id, dispatch_id, fingerprint, fleet_node_id, record, received_at';
/** SELECT of every agent with its current dispatch count; append WHERE/ORDER BY. */
const AGENT_SELECT = `SELECT a.agent_id, a.fleet_node_id, a.last_push_at, a.last_pull_at,
  (SELECT CAST(COUNT(*) AS INTEGER) FROM hub_dispatches d WHERE d.agent_id = a.agent_id) AS dispatches
  FROM hub_agents a`;
const CHANGE_PARAMS = { after: 1, agent: 2, since: 3, limit: 4 } as const;

/**
 * Every statement of the hub storage but the push itself, written once; `p` places the
 * parameters. Counts are cast to INTEGER so PostgreSQL returns numbers, not BIGINT strings.
 */
export function hubQueries(p: Param) {
  return {
    addToken: `INSERT INTO hub_tokens (token_hash, agent_id, admin, created_at) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})`,
    findToken: `SELECT token_hash, agent_id, admin, created_at FROM hub_tokens WHERE token_hash = ${p(1)}`,
    listTokens:
      'SELECT token_hash, agent_id, admin, created_at FROM hub_tokens ORDER BY created_at, token_hash',
    removeToken: `DELETE FROM hub_tokens WHERE token_hash = ${p(1)}`,
    removeTokens: `DELETE FROM hub_tokens WHERE token_hash = ANY(${p(1)}::text[])`,
    contextDispatches: `SELECT ${DISPATCH_COLUMNS} FROM hub_dispatches
      WHERE agent_id <> ${p(1)} AND received_at > ${p(2)} ORDER BY received_at DESC, seq DESC LIMIT ${p(3)}`,
    contextNotes: `SELECT seq, target_agent_id, note, created_at FROM hub_notes
      WHERE (target_agent_id IS NULL OR target_agent_id = ${p(1)}) AND created_at > ${p(2)}
      ORDER BY created_at DESC, seq DESC LIMIT ${p(3)}`,
    counter: `SELECT value FROM hub_counter WHERE name = ${p(1)}`,
    /** Parameters: after, agent, since, limit. */
    contextChanges: contextChangeSql((name) => p(CHANGE_PARAMS[name])),
    contextCount: `SELECT CAST((SELECT COUNT(*) FROM hub_dispatches WHERE agent_id <> ${p(1)})
      + (SELECT COUNT(*) FROM hub_notes WHERE target_agent_id IS NULL OR target_agent_id = ${p(1)}) AS INTEGER) AS n`,
    bumpCounter: `UPDATE hub_counter SET value = value + 1 WHERE name = ${p(1)} RETURNING value`,
    addNote: `INSERT INTO hub_notes (target_agent_id, note, created_at, change_seq) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})
      RETURNING seq, target_agent_id, note, created_at`,
    recordPull: `INSERT INTO hub_agents (agent_id, last_pull_at) VALUES (${p(1)}, ${p(2)})
      ON CONFLICT (agent_id) DO UPDATE SET last_pull_at = excluded.last_pull_at`,
    agent: `${AGENT_SELECT} WHERE a.agent_id = ${p(1)}`,
    agents: `${AGENT_SELECT} ORDER BY a.agent_id`,
    statusCounts: `SELECT status, CAST(COUNT(*) AS INTEGER) AS n FROM hub_dispatches
      WHERE CAST(${p(1)} AS TEXT) IS NULL OR agent_id = ${p(1)} GROUP BY status ORDER BY status`,
    pruneIdempotency: `DELETE FROM hub_idempotency WHERE created_at < ${p(1)}`,
    versionCount: 'SELECT CAST(COUNT(*) AS INTEGER) AS n FROM hub_dispatch_versions',
    ping: 'SELECT 1',
  } as const;
}

/** The statements of {@link hubQueries}. */
export type HubQueries = ReturnType<typeof hubQueries>;

/** The dashboard's dispatch query: only the filters given, most recently received first. */
export function recentDispatchesQuery(p: Param, filter: DashboardFilter): Query {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.agentId !== undefined) {
    params.push(filter.agentId);
    where.push(`agent_id = ${p(params.length)}`);
  }
  if (filter.status !== undefined) {
    params.push(filter.status);
    where.push(`status = ${p(params.length)}`);
  }
  if (filter.repo !== undefined) {
    params.push(filter.repo);
    where.push(`(repo = ${p(params.length)} OR org || '/' || repo = ${p(params.length)})`);
  }
  params.push(filter.limit);
  const sql = `SELECT ${DISPATCH_COLUMNS} FROM hub_dispatches
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, seq DESC LIMIT ${p(params.length)}`;
  return { sql, params };
}
