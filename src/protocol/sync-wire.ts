import { z } from 'zod';

// The sync protocol between a node and the hub, described once: the hub parses requests with
// these schemas and the node parses the hub's answers with them.

/** Most context items one pull returns (newest first); older ones are left out. */
export const CONTEXT_MAX_ITEMS = 1000;
/** Longest workspace name (`id`) a dispatch record may carry. */
export const MAX_RECORD_ID_LENGTH = 512;
/** Longest fingerprint a dispatch record may carry. */
export const MAX_FINGERPRINT_LENGTH = 256;
/** Longest fleet node id a push may carry. */
export const MAX_FLEET_NODE_ID_LENGTH = 256;
/** Longest context cursor a hub hands out (the decimal text of its change counter fits easily). */
export const MAX_CURSOR_LENGTH = 64;

const NO_SPACE_OR_CONTROL = /^[^\s\p{Cc}]+$/u;
const NO_CONTROL = /^[^\p{Cc}]+$/u;
const NO_CONTROL_MESSAGE = 'must not contain control characters';

/** An agent id: 1–128 characters, no whitespace or control characters (hostnames and AGENT_NAME values fit). */
export const agentIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(NO_SPACE_OR_CONTROL, 'must not contain whitespace or control characters');

const text = z.string().nullish();
const int = z.number().int().nullish();

/**
 * One dispatch record of a push: `id` (workspace name) and `fingerprint` are required; the
 * journal fields the hub reads are type-checked; every other field is kept as sent.
 */
export const dispatchRecordSchema = z.looseObject({
  id: z.string().min(1).max(MAX_RECORD_ID_LENGTH).regex(NO_CONTROL, NO_CONTROL_MESSAGE),
  fingerprint: z.string().min(1).max(MAX_FINGERPRINT_LENGTH).regex(NO_CONTROL, NO_CONTROL_MESSAGE),
  workspace: text,
  status: text,
  org: text,
  repo: text,
  agent: text,
  task: text,
  branch: text,
  question: text,
  process_id: text,
  pr_url: text,
  started_at: text,
  updated_at: text,
  committed_at: text,
  runs: int,
  issue: int,
});

/** A validated dispatch record. */
export type DispatchRecord = z.infer<typeof dispatchRecordSchema>;

/** The body of `POST /v1/agent/sync`, with at most `maxRecords` records. */
export function syncBodySchema(maxRecords: number) {
  return z.object({
    agent_id: agentIdSchema,
    fleet_node_id: z.string().max(MAX_FLEET_NODE_ID_LENGTH).regex(NO_CONTROL).nullish(),
    dispatches: z.array(dispatchRecordSchema).max(maxRecords),
  });
}

/**
 * A context cursor as the hub hands it out: the decimal text of its change counter. Nodes treat
 * it as opaque and send back what they were given; `0` is the beginning.
 */
export const contextCursorSchema = z
  .string()
  .regex(/^(0|[1-9]\d{0,14})$/, 'expected a cursor this hub returned (or 0)');

/**
 * The query of `GET /v1/agent/context`: `since` is RFC 3339 (any offset), `limit` 1–1000. With
 * `cursor` the answer is one page in change order with the next cursor and `has_more`; without
 * it, the newest items by time (what nodes before paging ask for).
 */
export const contextQuerySchema = z.object({
  agent_id: agentIdSchema,
  since: z.iso.datetime({ offset: true }).optional(),
  cursor: contextCursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(CONTEXT_MAX_ITEMS).optional(),
});

/** The query of `GET /v1/agent/status`. */
export const statusQuerySchema = z.object({ agent_id: agentIdSchema });

/** A context item: the current version of a dispatch pushed by an agent. */
export const dispatchItemSchema = z.looseObject({
  type: z.literal('dispatch'),
  /** The workspace name. */
  id: z.string(),
  agent_id: z.string(),
  fleet_node_id: z.string().nullable(),
  fingerprint: z.string(),
  /** When the hub received this version (hub clock, RFC 3339 UTC). */
  at: z.string(),
  dispatch: z.record(z.string(), z.unknown()),
});
/** A dispatch context item. */
export type DispatchItem = z.infer<typeof dispatchItemSchema>;

/** A context item: an operator note, with any other fields the operator gave. */
export const noteItemSchema = z.looseObject({
  type: z.literal('note'),
  /** `note-<n>`. */
  id: z.string(),
  /** When the note was added (hub clock, RFC 3339 UTC). */
  at: z.string(),
  text: z.string(),
  /** The one agent the note is for, or null for every agent. */
  agent_id: z.string().nullable(),
});
/** A note context item. */
export type NoteItem = z.infer<typeof noteItemSchema>;

/**
 * One item of `GET /v1/agent/context`, loose on `type`: a dispatch, a note, or any other JSON
 * object, which a node keeps as it came so that a hub that grows a new kind of item (or a
 * cache written by an older node) is never refused.
 */
export const contextItemSchema = z.union([
  dispatchItemSchema,
  noteItemSchema,
  z.record(z.string(), z.unknown()),
]);
/** A context item. */
export type ContextItem = z.infer<typeof contextItemSchema>;

/**
 * The answer of `GET /v1/agent/context`. `cursor` and `has_more` come from a hub that pages
 * context (asked with a cursor); a hub before paging leaves them out.
 */
export const contextAnswerSchema = z.object({
  data: z.array(contextItemSchema),
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
  has_more: z.boolean().optional(),
});
/** A context answer. */
export type ContextAnswerBody = z.infer<typeof contextAnswerSchema>;

/** The answer of `GET /v1/agent/status`: the hub's view of one agent; other fields are kept. */
export const statusAnswerSchema = z.object({
  data: z.looseObject({
    agent_id: z.string().optional(),
    /** The hub's presence verdict for the agent. */
    status: z.string().optional(),
    last_push_at: z.string().nullish(),
    last_pull_at: z.string().nullish(),
    /** Always 0: the hub holds no queue of its own. */
    queued: z.number().optional(),
    context_count: z.number().optional(),
  }),
});
/** A status answer. */
export type StatusAnswer = z.infer<typeof statusAnswerSchema>;
