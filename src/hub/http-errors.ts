import { AgenticError, toAgenticError, type ErrorCode } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

/** HTTP statuses the hub answers with for errors. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 422 | 500 | 503;

const STATUS_OF: Partial<Record<ErrorCode, ErrorStatus>> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  IDEMPOTENCY_KEY_REUSED: 422,
  STORE_UNAVAILABLE: 503,
  HUB_UNAVAILABLE: 503,
};

/** The JSON body of every hub error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

/**
 * The hub's one error mapping: the caller's fault → 4xx with the message (401, 403, 404, 413,
 * 422 by code, else 400), an unavailable database → 503, anything else → 500 with a generic
 * message (the detail is logged, never sent).
 */
export function toErrorResponse(
  err: unknown,
  logger: Logger,
): { status: ErrorStatus; body: ErrorBody } {
  const e = toAgenticError(err);
  const status = STATUS_OF[e.code] ?? (e.kind === 'usage' ? 400 : e.kind === 'failure' ? 503 : 500);
  if (status >= 500) logger.error({ code: e.code, err: errorText(err) }, 'hub request failed');
  const message = e.kind === 'internal' ? 'internal error; see the hub log' : e.message;
  return {
    status,
    body: {
      error: { code: e.code, message, ...(e.field !== undefined ? { field: e.field } : {}) },
    },
  };
}

/** Shorthand for a 401. */
export function unauthorized(message: string): AgenticError {
  return new AgenticError('UNAUTHORIZED', message);
}

/** Shorthand for a 403. */
export function forbidden(message: string): AgenticError {
  return new AgenticError('FORBIDDEN', message);
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
