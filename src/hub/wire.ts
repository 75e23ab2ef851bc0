import { z } from 'zod';
import { AgenticError } from '../lib/errors.js';
import type { IngestRecord } from './storage.js';

/** Most context items one pull returns (newest first); older ones are left out. */
export const CONTEXT_MAX_ITEMS = 1000;
/** Most dispatch rows one dashboard request returns. */
export const DASHBOARD_MAX_ROWS = 1000;

const NO_SPACE_OR_CONTROL = /^[^\s\p{Cc}]+$/u;
const NO_CONTROL = /^[^\p{Cc}]+$/u;

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
  id: z.string().min(1).max(512).regex(NO_CONTROL, 'must not contain control characters'),
  fingerprint: z.string().min(1).max(256).regex(NO_CONTROL, 'must not contain control characters'),
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
    fleet_node_id: z.string().max(256).regex(NO_CONTROL).nullish(),
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

/** The body of `POST /v1/agent/context`: a note's `text`, optionally for one `agent_id`; other fields are kept. */
export const noteBodySchema = z.looseObject({
  text: z.string().trim().min(1).max(20_000),
  agent_id: agentIdSchema.nullish(),
});

/** The query of `GET /v1/dashboard`: optional filters and a row limit (default 200). */
export const dashboardQuerySchema = z.object({
  agent_id: agentIdSchema.optional(),
  status: z.string().min(1).max(64).optional(),
  repo: z.string().min(1).max(512).optional(),
  limit: z.coerce.number().int().min(1).max(DASHBOARD_MAX_ROWS).default(200),
});

/**
 * Parses `value` with `schema`, or throws INPUT_INVALID whose message and `field` name the
 * first offending field, e.g. `dispatches[3].fingerprint: expected string`.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where = '',
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = [where, ...(issue?.path ?? []).map(String)]
    .filter((p) => p !== '')
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
  const message =
    issue === undefined
      ? 'invalid input'
      : issue.code === 'invalid_type'
        ? `expected ${issue.expected}`
        : issue.message;
  throw new AgenticError('INPUT_INVALID', `${field || 'body'}: ${message}`, {
    field: field || 'body',
  });
}

/** Validates an agent id given on the command line or in a request; throws USAGE naming `field`. */
export function parseAgentId(value: string, field: string): string {
  const result = agentIdSchema.safeParse(value);
  if (result.success) return result.data;
  throw new AgenticError(
    'USAGE',
    `${field}: ${result.error.issues[0]?.message ?? 'invalid agent id'}`,
    {
      field,
    },
  );
}

/** The version order of a record: `updated_at` (else the fingerprint's time part) in ms, then `runs` (else the fingerprint's count). */
export function versionOf(record: DispatchRecord): { ms: number; runs: number } {
  const [fpTime = '', fpRuns = ''] = record.fingerprint.split('#');
  const ms = [record.updated_at, fpTime].map((t) => Date.parse(t ?? '')).find(Number.isFinite);
  const runs = record.runs ?? Number.parseInt(fpRuns, 10);
  return { ms: ms ?? 0, runs: Number.isSafeInteger(runs) ? runs : 0 };
}

/** Builds the stored form of a validated record: its JSON text, the indexed columns and the version. */
export function toIngestRecord(record: DispatchRecord): IngestRecord {
  const { ms, runs } = versionOf(record);
  return {
    id: record.id,
    fingerprint: record.fingerprint,
    json: JSON.stringify(record),
    status: column(record.status),
    org: column(record.org),
    repo: column(record.repo),
    agent: column(record.agent),
    versionMs: ms,
    versionRuns: runs,
  };
}

/** An indexed text column: bounded, and without NUL (PostgreSQL TEXT refuses it). */
function column(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  return value.replaceAll('\u0000', '').slice(0, 512);
}
