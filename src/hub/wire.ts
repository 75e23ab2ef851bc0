import { z } from 'zod';
import { AgenticError } from '../lib/errors.js';
import { agentIdSchema, type DispatchRecord } from '../protocol/sync-wire.js';
import type { IngestRecord } from './storage/types.js';

/** Most dispatch rows one dashboard request returns. */
export const DASHBOARD_MAX_ROWS = 1000;

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

/** Parses a request body as JSON; throws INPUT_INVALID (400) when it is not. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AgenticError('INPUT_INVALID', 'body: expected a JSON document', { field: 'body' });
  }
}
