import { AgenticError, type ErrorCode } from '../lib/errors.js';
import type { ForgeKind, PullRequest, PullRequestState } from './types.js';

/** Where the token of a forge came from, so a message can say what to fix (never the token itself). */
export type TokenSource =
  | { readonly kind: 'env'; readonly names: readonly string[] }
  | { readonly kind: 'file'; readonly path: string };

/** What a forge error is about, for callers that act on it (wait until `retryAt`, show the PR state). */
export interface ForgeErrorDetail {
  readonly kind: ForgeKind;
  readonly host: string;
  /** What was being done, e.g. `open pull request agent/x → main`. */
  readonly operation: string;
  /** The HTTP status, when the forge answered. */
  readonly status: number | undefined;
  /** When a rate limit lifts (FORGE_RATE_LIMITED); the caller waits durably, the adapter does not. */
  readonly retryAt: Date | undefined;
  /** For FORGE_PR_CLOSED: whether the pull request was merged or closed. */
  readonly prState: PullRequestState | undefined;
}

/** The `cause` of every FORGE_* error: plain data, never the request (which carries the token). */
export class ForgeErrorInfo {
  constructor(readonly detail: ForgeErrorDetail) {}
}

/** The forge, operation, status and retry time behind a FORGE_* error, or undefined for any other error. */
export function forgeErrorDetail(err: unknown): ForgeErrorDetail | undefined {
  return err instanceof AgenticError && err.cause instanceof ForgeErrorInfo
    ? err.cause.detail
    : undefined;
}

/** An HTTP answer that was not a success, or (status undefined) a request that got no answer. */
export interface HttpFailure {
  readonly status: number | undefined;
  /** Response headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The forge's own message (`message`/`error` of its JSON body), or the network error. */
  readonly message: string;
}

/** What an adapter knows when it turns a failure into an AgenticError. */
export interface FailureContext {
  readonly kind: ForgeKind;
  readonly host: string;
  readonly apiUrl: string;
  readonly repoPath: string;
  readonly tokenSource: TokenSource;
  /** Strings that must never appear in a message (the token). */
  readonly secrets: readonly string[];
  readonly now: () => number;
}

const FORGE_NAMES: Record<ForgeKind, string> = {
  github: 'GitHub',
  gitlab: 'GitLab',
  gitea: 'Gitea',
  forgejo: 'Forgejo',
};

/** The forge's display name with its host, e.g. `GitHub (github.com)`. */
export function forgeLabel(kind: ForgeKind, host: string): string {
  return `${FORGE_NAMES[kind]} (${host})`;
}

/** Where to put a token, in words: `$GITHUB_TOKEN (or $GH_TOKEN)` or `the file /x`. */
export function describeTokenSource(source: TokenSource): string {
  if (source.kind === 'file') return `the token file ${source.path}`;
  const [first, ...rest] = source.names.map((n) => `$${n}`);
  return rest.length === 0 ? (first ?? 'a token') : `${first} (or ${rest.join(', ')})`;
}

/** Replaces every secret in `text` by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***');
  return out;
}

/** Builds a FORGE_* error whose message names the forge and the operation, with the secrets removed. */
export function forgeError(
  ctx: FailureContext,
  code: ErrorCode,
  operation: string,
  what: string,
  extra: Partial<Pick<ForgeErrorDetail, 'status' | 'retryAt' | 'prState'>> = {},
): AgenticError {
  const message = redact(`${forgeLabel(ctx.kind, ctx.host)}: ${operation}: ${what}`, ctx.secrets);
  return new AgenticError(code, message, {
    cause: new ForgeErrorInfo({
      kind: ctx.kind,
      host: ctx.host,
      operation: redact(operation, ctx.secrets),
      status: extra.status,
      retryAt: extra.retryAt,
      prState: extra.prState,
    }),
  });
}

/**
 * Maps an HTTP failure to the FORGE_* family: no answer → UNAVAILABLE, 429 or a 403 rate limit →
 * RATE_LIMITED (retry time from Retry-After, else X-RateLimit-Reset/RateLimit-Reset, else a
 * minute), 401/403 → AUTH_FAILED, 404 → NOT_FOUND, 405/406/409 → CONFLICT, other 4xx →
 * REJECTED, 5xx → UNAVAILABLE.
 */
export function mapHttpFailure(
  ctx: FailureContext,
  operation: string,
  failure: HttpFailure,
): AgenticError {
  const { status } = failure;
  const said = failure.message.trim() === '' ? '' : `: ${failure.message.trim()}`;
  if (status === undefined) {
    return forgeError(
      ctx,
      'FORGE_UNAVAILABLE',
      operation,
      `no answer from ${ctx.apiUrl}${said}; check the network (or forges[].api_url in agents.yaml) and retry`,
    );
  }
  if (isRateLimited(failure)) {
    const retryAt = retryTime(failure.headers, ctx.now());
    return forgeError(
      ctx,
      'FORGE_RATE_LIMITED',
      operation,
      `rate-limited (${status}); retry after ${retryAt.toISOString()}`,
      { status, retryAt },
    );
  }
  const token = describeTokenSource(ctx.tokenSource);
  if (status === 401) {
    return forgeError(
      ctx,
      'FORGE_AUTH_FAILED',
      operation,
      `authentication failed (401)${said}; the token in ${token} was refused: set a valid token there`,
      { status },
    );
  }
  if (status === 403) {
    return forgeError(
      ctx,
      'FORGE_AUTH_FAILED',
      operation,
      `permission denied (403)${said}; the token in ${token} needs write access to ${ctx.repoPath} (pull requests, contents)`,
      { status },
    );
  }
  if (status === 404) {
    return forgeError(
      ctx,
      'FORGE_NOT_FOUND',
      operation,
      `not found (404)${said}; check that ${ctx.repoPath} exists on ${ctx.host} and that the token in ${token} can see it`,
      { status },
    );
  }
  if (status === 405 || status === 406 || status === 409) {
    return forgeError(ctx, 'FORGE_CONFLICT', operation, `refused (${status})${said}`, { status });
  }
  if (status >= 400 && status < 500) {
    return forgeError(ctx, 'FORGE_REJECTED', operation, `rejected (${status})${said}`, { status });
  }
  // A 503 may say when to come back; otherwise the caller's own back-off decides.
  const retryAt =
    failure.headers['retry-after'] === undefined
      ? undefined
      : retryTime(failure.headers, ctx.now());
  return forgeError(
    ctx,
    'FORGE_UNAVAILABLE',
    operation,
    `server error (${status})${said}; retry ${retryAt ? `after ${retryAt.toISOString()}` : 'later'}`,
    { status, retryAt },
  );
}

function isRateLimited(failure: HttpFailure): boolean {
  if (failure.status === 429) return true;
  if (failure.status !== 403) return false;
  // GitHub answers primary and secondary rate limits with 403 as well as 429.
  return (
    failure.headers['x-ratelimit-remaining'] === '0' ||
    failure.headers['retry-after'] !== undefined ||
    /rate limit/i.test(failure.message)
  );
}

/** When to try again: Retry-After (seconds or an HTTP date), else the reset time (epoch seconds or GitLab's HTTP date), else in a minute; never in the past. */
export function retryTime(headers: Readonly<Record<string, string>>, now: number): Date {
  const after = headers['retry-after']?.trim();
  if (after !== undefined && after !== '') {
    if (/^\d+$/.test(after)) return new Date(now + Number(after) * 1000);
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return new Date(Math.max(date, now));
  }
  const reset = headers['x-ratelimit-reset'] ?? headers['ratelimit-reset'];
  if (reset !== undefined && /^\d+$/.test(reset.trim())) {
    return new Date(Math.max(Number(reset) * 1000, now));
  }
  // GitLab also sends the reset as an HTTP date.
  const resetTime = Date.parse(headers['ratelimit-resettime'] ?? '');
  if (!Number.isNaN(resetTime)) return new Date(Math.max(resetTime, now));
  return new Date(now + 60_000);
}

/** How a forge words a refused merge. */
interface MergeRefusalWording {
  /** `pull request` or `merge request`. */
  readonly noun: string;
  /** Why the forge refused, from the pull request (when it could be read) and the HTTP status. */
  readonly why: (pr: PullRequest | undefined, status: number | undefined) => string;
  /** What to call the base branch when the pull request could not be read. */
  readonly base: string;
  /** What else may let the merge through. */
  readonly orElse: string;
}

const GITEA_REFUSAL: MergeRefusalWording = {
  noun: 'pull request',
  why: () => 'not mergeable',
  base: 'the base',
  orElse: 'resolve the conflict',
};

const MERGE_REFUSALS: Readonly<Record<ForgeKind, MergeRefusalWording>> = {
  // A 409 means the head moved after it was checked.
  github: {
    noun: 'pull request',
    why: (_pr, status) =>
      status === 409 ? 'its branch moved since it was checked' : 'not mergeable',
    base: 'the base',
    orElse: 'wait for required checks',
  },
  // GitLab says itself whether the merge request conflicts.
  gitlab: {
    noun: 'merge request',
    why: (pr) =>
      pr?.conflict === true ? 'it conflicts with the target branch' : 'not mergeable now',
    base: 'the target',
    orElse: 'wait for the pipeline',
  },
  gitea: GITEA_REFUSAL,
  forgejo: GITEA_REFUSAL,
};

/**
 * The error for a merge the forge refused: FORGE_PR_CLOSED when the pull request (read again
 * with `getPr`) is already merged or closed, else FORGE_CONFLICT saying what to do before
 * retrying, in the words of the forge `ctx` names.
 */
export async function notMergeableError(
  ctx: FailureContext,
  op: string,
  failure: HttpFailure,
  getPr: () => Promise<PullRequest>,
): Promise<AgenticError> {
  const wording = MERGE_REFUSALS[ctx.kind];
  const pr = await getPr().catch(() => undefined);
  if (pr !== undefined && pr.state !== 'open') {
    return forgeError(ctx, 'FORGE_PR_CLOSED', op, `the ${wording.noun} is already ${pr.state}`, {
      status: failure.status,
      prState: pr.state,
    });
  }
  return forgeError(
    ctx,
    'FORGE_CONFLICT',
    op,
    `${wording.why(pr, failure.status)} (${failure.status})${failure.message ? `: ${failure.message}` : ''}; rebase ${pr?.head ?? 'the branch'} onto ${pr?.base ?? wording.base} or ${wording.orElse}, then retry`,
    { status: failure.status },
  );
}
