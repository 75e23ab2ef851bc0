/** How a boundary should present an error: the caller's bad input, a failed operation, or our own bug. */
export type ErrorKind = 'usage' | 'failure' | 'internal';

const KINDS = {
  USAGE: 'usage',
  CONFIG_INVALID: 'usage',
  WORKSPACE_NAME_INVALID: 'usage',
  WORKSPACE_NOT_FOUND: 'usage',
  AGENT_NOT_FOUND: 'usage',
  INPUT_INVALID: 'usage',
  STATE_CONFLICT: 'usage',
  UNAUTHORIZED: 'usage',
  FORBIDDEN: 'usage',
  NOT_FOUND: 'usage',
  PAYLOAD_TOO_LARGE: 'usage',
  IDEMPOTENCY_KEY_REUSED: 'usage',
  STORE_UNAVAILABLE: 'failure',
  STORE_SCHEMA_TOO_NEW: 'failure',
  STORE_CORRUPT: 'failure',
  PREP_FAILED: 'failure',
  DELIVERY_FAILED: 'failure',
  SPAWN_FAILED: 'failure',
  HUB_UNAVAILABLE: 'failure',
  SYNC_FAILED: 'failure',
  IO_FAILED: 'failure',
  // Fleet mode: another node must act (its logs, its agents) and is not live or did not answer.
  NODE_UNAVAILABLE: 'failure',
  // Pull requests on a forge (GitHub, GitLab, Gitea/Forgejo): src/forge.
  FORGE_UNKNOWN: 'usage',
  FORGE_TOKEN_MISSING: 'usage',
  FORGE_AUTH_FAILED: 'usage',
  FORGE_NOT_FOUND: 'usage',
  FORGE_REJECTED: 'usage',
  FORGE_CONFLICT: 'failure',
  FORGE_PR_CLOSED: 'failure',
  FORGE_RATE_LIMITED: 'failure',
  FORGE_UNAVAILABLE: 'failure',
  INTERNAL: 'internal',
} as const satisfies Record<string, ErrorKind>;

/** Stable machine-readable error codes; never renamed once released. */
export type ErrorCode = keyof typeof KINDS;

/** The one error class of the project: a stable `code`, a message saying what happened and what to do, and an optional `cause`. */
export class AgenticError extends Error {
  readonly code: ErrorCode;
  /** The input field at fault, when one is (e.g. `org`, `concurrency.codex.total`). */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; field?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgenticError';
    this.code = code;
    this.field = options.field;
  }

  /** Whether the error is the caller's fault (usage), an operation that failed, or an internal bug. */
  get kind(): ErrorKind {
    return KINDS[this.code];
  }
}

/** Wraps anything thrown into an AgenticError; foreign errors become INTERNAL so they never pass as the user's fault. */
export function toAgenticError(err: unknown): AgenticError {
  if (err instanceof AgenticError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AgenticError('INTERNAL', `internal error: ${message}`, { cause: err });
}
