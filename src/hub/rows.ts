import type {
  AgentRow,
  ContextItem,
  DashboardDispatchRow,
  DispatchItem,
  NoteItem,
} from './storage.js';

/** The columns both engines select for a current dispatch. */
export interface DispatchRowFields {
  agent_id: string;
  dispatch_id: string;
  fingerprint: string;
  fleet_node_id: string | null;
  record: string;
  received_at: string;
}

/** The columns both engines select for a note. */
export interface NoteRowFields {
  seq: number | string;
  target_agent_id: string | null;
  note: string;
  created_at: string;
}

/** Turns a stored dispatch row into a context item (the record JSON was validated on the way in). */
export function dispatchItem(row: DispatchRowFields): DispatchItem {
  return {
    type: 'dispatch',
    id: row.dispatch_id,
    agent_id: row.agent_id,
    fleet_node_id: row.fleet_node_id,
    fingerprint: row.fingerprint,
    at: row.received_at,
    dispatch: JSON.parse(row.record) as Record<string, unknown>,
  };
}

/** Turns a stored note row into a context item; the fixed fields win over the operator's extras. */
export function noteItem(row: NoteRowFields): NoteItem {
  const body = JSON.parse(row.note) as Record<string, unknown> & { text: string };
  return {
    ...body,
    type: 'note',
    id: `note-${String(row.seq)}`,
    at: row.created_at,
    text: body.text,
    agent_id: row.target_agent_id,
  };
}

/** Merges two newest-first lists into one, newest first (ties keep `a` first), at most `limit` items. */
export function mergeNewestFirst(
  a: readonly ContextItem[],
  b: readonly ContextItem[],
  limit: number,
): ContextItem[] {
  return [...a, ...b].sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0)).slice(0, limit);
}

/** The columns both engines select for an agent. */
export interface AgentRowFields {
  agent_id: string;
  fleet_node_id: string | null;
  last_push_at: string | null;
  last_pull_at: string | null;
  dispatches: number;
}

/** Turns a stored agent row into its camel-case form. */
export function agentRow(r: AgentRowFields): AgentRow {
  return {
    agentId: r.agent_id,
    fleetNodeId: r.fleet_node_id,
    lastPushAt: r.last_push_at,
    lastPullAt: r.last_pull_at,
    dispatches: r.dispatches,
  };
}

/** Turns a stored dispatch row into a dashboard row. */
export function dashboardRow(row: DispatchRowFields): DashboardDispatchRow {
  const item = dispatchItem(row);
  return {
    agentId: item.agent_id,
    fleetNodeId: item.fleet_node_id,
    id: item.id,
    receivedAt: item.at,
    record: item.dispatch,
  };
}

/** SELECT of every agent with its current dispatch count; append WHERE/ORDER BY. */
export const AGENT_SELECT = `SELECT a.agent_id, a.fleet_node_id, a.last_push_at, a.last_pull_at,
  (SELECT CAST(COUNT(*) AS INTEGER) FROM hub_dispatches d WHERE d.agent_id = a.agent_id) AS dispatches
  FROM hub_agents a`;
