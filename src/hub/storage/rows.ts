import type {
  AgentRow,
  StoredContextItem,
  ContextPage,
  DashboardDispatchRow,
  DispatchItem,
  NoteItem,
  TokenRow,
} from './types.js';

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
  a: readonly StoredContextItem[],
  b: readonly StoredContextItem[],
  limit: number,
): StoredContextItem[] {
  return [...a, ...b].sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0)).slice(0, limit);
}

/** One row of the context change query both engines run: a current dispatch (`d`) or a note (`n`). */
export interface ContextChangeRow {
  kind: string;
  /** BIGINT comes back from PostgreSQL as a string. */
  change_seq: number | string;
  agent_id: string | null;
  /** The dispatch id, or the note's row number. */
  item_id: string | number;
  fingerprint: string | null;
  fleet_node_id: string | null;
  /** The dispatch record or the note, as JSON text. */
  body: string;
  at: string;
  target_agent_id: string | null;
}

/**
 * The change query of a context page, shared by both engines: other agents' current dispatches
 * and this agent's notes changed after a cursor (and received after a time, '' for any), in
 * change order, at most a limit (ask for one more to see whether a next page exists). Each side
 * reads its own change index; one statement, so one snapshot covers both. `param` names a
 * placeholder in the engine's syntax.
 */
export function contextChangeSql(
  param: (name: 'after' | 'agent' | 'since' | 'limit') => string,
): string {
  return `SELECT * FROM (
    SELECT * FROM (
      SELECT 'd' AS kind, change_seq, agent_id, dispatch_id AS item_id, fingerprint, fleet_node_id,
        record AS body, received_at AS at, CAST(NULL AS TEXT) AS target_agent_id
      FROM hub_dispatches
      WHERE change_seq > ${param('after')} AND agent_id <> ${param('agent')} AND received_at > ${param('since')}
      ORDER BY change_seq LIMIT ${param('limit')}) AS d
    UNION ALL
    SELECT * FROM (
      SELECT 'n' AS kind, change_seq, CAST(NULL AS TEXT) AS agent_id, CAST(seq AS TEXT) AS item_id,
        CAST(NULL AS TEXT) AS fingerprint, CAST(NULL AS TEXT) AS fleet_node_id, note AS body,
        created_at AS at, target_agent_id
      FROM hub_notes
      WHERE change_seq > ${param('after')} AND (target_agent_id IS NULL OR target_agent_id = ${param('agent')})
        AND created_at > ${param('since')}
      ORDER BY change_seq LIMIT ${param('limit')}) AS n
  ) AS changes ORDER BY change_seq LIMIT ${param('limit')}`;
}

/** The name of the hub's change counter row in `hub_counter`. */
export const CONTEXT_COUNTER = 'context';

/**
 * Turns the rows of a change query (oldest change first, at most `limit + 1` so a further one
 * shows a next page) into a page. Without a next page the cursor moves to `top`, the hub's
 * counter read before the query: every change up to it was visible to the query, so what comes
 * later has a higher number.
 */
export function contextPageOf(
  rows: readonly ContextChangeRow[],
  after: number,
  top: number,
  limit: number,
): ContextPage {
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const last = page.length > 0 ? Number(page[page.length - 1]?.change_seq) : after;
  const items = page.map((r): StoredContextItem =>
    r.kind === 'n'
      ? noteItem({
          seq: r.item_id,
          target_agent_id: r.target_agent_id,
          note: r.body,
          created_at: r.at,
        })
      : dispatchItem({
          agent_id: r.agent_id ?? '',
          dispatch_id: String(r.item_id),
          fingerprint: r.fingerprint ?? '',
          fleet_node_id: r.fleet_node_id,
          record: r.body,
          received_at: r.at,
        }),
  );
  return { items, cursor: hasMore ? last : Math.max(last, top, after), hasMore };
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

/** The columns of a stored token; `admin` is 0/1 in SQLite and a boolean in PostgreSQL. */
export interface TokenRowFields {
  token_hash: string;
  agent_id: string | null;
  admin: number | boolean;
  created_at: string;
}

/** Turns a stored token row into its camel-case form, with `admin` as a boolean on both engines. */
export function tokenRow(r: TokenRowFields): TokenRow {
  return {
    tokenHash: r.token_hash,
    agentId: r.agent_id,
    admin: r.admin === true || r.admin === 1,
    createdAt: r.created_at,
  };
}
