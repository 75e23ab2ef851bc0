import type { z } from 'zod';
import type { Clock } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { parseRetryAfter } from './queue/backoff.js';
import {
  contextAnswerSchema,
  statusAnswerSchema,
  type ContextItem,
} from '../protocol/sync-wire.js';

/** The subset of WHATWG fetch the client uses; injected so tests and benchmarks can wrap it. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Default per-request timeout of hub calls, in ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Options of {@link HubClient}. */
export interface HubClientOptions {
  /** Base URL without a trailing slash; may carry a path prefix. */
  url: string;
  token: string;
  clock: Clock;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

/** How one push ended: accepted (2xx), or failed, retryable or not (README: Sync). */
export type PushResult =
  | { ok: true; status: number }
  | {
      ok: false;
      /** Network error, timeout, 408, 429 or 5xx. */
      retryable: boolean;
      status: number | undefined;
      reason: string;
      /** From `Retry-After`, when the hub sent one. */
      retryAfterMs: number | undefined;
      /** The caller's signal aborted the request (shutdown); not the hub's fault. */
      aborted: boolean;
    };

/** One answer of `GET /v1/agent/context`. */
export interface ContextAnswer {
  items: ContextItem[];
  /** Where the next page starts; undefined when the hub does not page (a hub before paging). */
  cursor: string | undefined;
  /** Whether the hub holds more after `cursor`. */
  hasMore: boolean;
  bytes: number;
}

/** Speaks the sync protocol (README: Sync) to the hub: `POST /v1/agent/sync`, `GET /v1/agent/context`, `GET /v1/agent/status`, with `Authorization: Bearer`. */
export class HubClient {
  private readonly fetch: FetchLike;
  private readonly timeoutMs: number;

  constructor(private readonly options: HubClientOptions) {
    this.fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** Posts one push body with its Idempotency-Key; never throws, the result says whether to retry. */
  async push(body: string, idempotencyKey: string, signal?: AbortSignal): Promise<PushResult> {
    let res: Response;
    let text: string;
    try {
      res = await this.request('/v1/agent/sync', signal, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      });
      text = await res.text();
    } catch (err) {
      const aborted = signal?.aborted === true;
      return {
        ok: false,
        retryable: true,
        status: undefined,
        reason: aborted ? 'aborted by shutdown' : describeFetchError(err, this.timeoutMs),
        retryAfterMs: undefined,
        aborted,
      };
    }
    if (res.ok) return { ok: true, status: res.status };
    const status = res.status;
    return {
      ok: false,
      retryable: status === 408 || status === 429 || status >= 500,
      status,
      reason: `HTTP ${status}${text.trim() ? `: ${text.trim().slice(0, 200)}` : ''}${status === 403 ? identityHint(body) : ''}`,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), this.options.clock.now()),
      aborted: false,
    };
  }

  /**
   * `GET /v1/agent/context` from `cursor` (the hub's, opaque; `0` is the beginning), received
   * after `since` when given; throws HUB_UNAVAILABLE on any failure (network, status, shape).
   */
  async context(
    agentId: string,
    page: { cursor: string; since?: string | undefined },
  ): Promise<ContextAnswer> {
    const query = new URLSearchParams({ agent_id: agentId, cursor: page.cursor });
    if (page.since !== undefined) query.set('since', page.since);
    const text = await this.getText(`/v1/agent/context?${query.toString()}`);
    const body = parseBody(contextAnswerSchema, text, 'context');
    return {
      items: body.data,
      cursor: body.cursor,
      hasMore: body.has_more === true,
      bytes: Buffer.byteLength(text),
    };
  }

  /** `GET /v1/agent/status` → the `data` object; throws HUB_UNAVAILABLE on any failure. */
  async status(agentId: string): Promise<Record<string, unknown>> {
    const text = await this.getText(
      `/v1/agent/status?${new URLSearchParams({ agent_id: agentId }).toString()}`,
    );
    return parseBody(statusAnswerSchema, text, 'status').data;
  }

  private async getText(path: string): Promise<string> {
    let res: Response;
    let text: string;
    try {
      res = await this.request(path, undefined, { method: 'GET' });
      text = await res.text();
    } catch (err) {
      throw new AgenticError(
        'HUB_UNAVAILABLE',
        `hub unreachable: ${describeFetchError(err, this.timeoutMs)}`,
        {
          cause: err,
        },
      );
    }
    if (!res.ok)
      throw new AgenticError(
        'HUB_UNAVAILABLE',
        `hub answered HTTP ${res.status} for ${path.split('?')[0] ?? path}`,
      );
    return text;
  }

  private async request(
    path: string,
    signal: AbortSignal | undefined,
    init: RequestInit,
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const send = (): Promise<Response> =>
      this.fetch(`${this.options.url}${path}`, {
        ...init,
        headers: {
          ...(init.headers as Record<string, string>),
          authorization: `Bearer ${this.options.token}`,
        },
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      });
    try {
      return await send();
    } catch (err) {
      // A pooled keep-alive connection the hub already closed fails before any response; one
      // immediate reconnect is safe (pushes carry an Idempotency-Key) and keeps this out of the
      // back-off. A second failure is a real one.
      if (signal?.aborted || timeout.aborted || !STALE_CONNECTION.has(errorCode(err) ?? ''))
        throw err;
      return send();
    }
  }
}

const STALE_CONNECTION = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

function errorCode(err: unknown): string | undefined {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function parseBody<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AgenticError('HUB_UNAVAILABLE', `hub ${what} response is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AgenticError(
      'HUB_UNAVAILABLE',
      `hub ${what} response is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** A short reason for a failed fetch: `timeout after 30000 ms`, `ECONNREFUSED`, `ECONNRESET`, …. */
function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return `timeout after ${timeoutMs} ms`;
  const cause =
    err instanceof Error
      ? (err.cause as { code?: unknown; message?: unknown } | undefined)
      : undefined;
  if (cause && typeof cause.code === 'string') return `network error: ${cause.code}`;
  if (cause && typeof cause.message === 'string') return `network error: ${cause.message}`;
  return `network error: ${err instanceof Error ? err.message : String(err)}`;
}

/** What a 403 on a push means for the operator: the agent id sent, and how to change it. */
function identityHint(body: string): string {
  let agentId = '?';
  try {
    const parsed = JSON.parse(body) as { agent_id?: unknown };
    if (typeof parsed.agent_id === 'string') agentId = parsed.agent_id;
  } catch {
    // The body is ours; an unreadable one still gets the hint.
  }
  return ` (pushed as agent id "${agentId}"; set AGENT_NAME to the agent the hub token was made for, then run agentic sync retry-dropped)`;
}
