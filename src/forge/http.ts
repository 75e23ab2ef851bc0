import { z } from 'zod';
import type { HttpFailure } from './errors.js';

/** The fetch the adapters use; injected so tests and proxies can replace it. Default: the global fetch. */
export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A request's outcome: the parsed body of a 2xx answer, or the failure. */
export type HttpResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: unknown;
    }
  | { readonly ok: false; readonly failure: HttpFailure };

/** How long one API request may take before it counts as no answer. */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Sends one request and reads the answer: JSON bodies parsed, text kept as a string, 204 empty.
 * Never throws for HTTP or network failures; they come back as `{ok: false}`.
 */
export function sendRequest(
  fetchFn: FetchFn,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: unknown },
): Promise<HttpResult> {
  if (init.body === undefined)
    return sendRawRequest(fetchFn, url, { method: init.method, headers: init.headers });
  return sendRawRequest(fetchFn, url, {
    method: init.method,
    headers: { ...init.headers, 'content-type': 'application/json' },
    body: JSON.stringify(init.body),
  });
}

/** Like `sendRequest`, with the body already serialised (and its content-type among the headers). */
export async function sendRawRequest(
  fetchFn: FetchFn,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
): Promise<HttpResult> {
  let response: Response;
  try {
    response = await fetchFn(url, {
      method: init.method,
      headers: init.headers,
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    return { ok: false, failure: { status: undefined, headers: {}, message: networkMessage(err) } };
  }
  const headers = headerRecord(response.headers);
  const text = await response.text().catch(() => '');
  const body = parseBody(text, headers['content-type']);
  if (response.ok) return { ok: true, status: response.status, headers, body };
  return {
    ok: false,
    failure: { status: response.status, headers, message: forgeMessage(body) },
  };
}

/** Response headers as a plain record with lower-case names. */
export function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

const errorBodySchema = z.looseObject({
  message: z.unknown().optional(),
  error: z.unknown().optional(),
  errors: z.array(z.unknown()).optional(),
});
const detailSchema = z.union([
  z.string(),
  z.looseObject({ message: z.string() }),
  // GitHub validation errors without a message: {resource, field, code}.
  z.looseObject({ field: z.string(), code: z.string() }),
]);

/** The message a forge puts in an error body (`message`, `error`, GitLab's message maps and lists). */
export function forgeMessage(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 300);
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return '';
  const message = parsed.data.message ?? parsed.data.error;
  const text =
    typeof message === 'string' ? message : message === undefined ? '' : JSON.stringify(message);
  // GitHub puts the detail of a 422 ("A pull request already exists…") in errors[].message.
  const details = (parsed.data.errors ?? []).flatMap((e) => {
    const d = detailSchema.safeParse(e);
    if (!d.success) return [];
    if (typeof d.data === 'string') return [d.data];
    return ['message' in d.data ? d.data.message : `${d.data.field} ${d.data.code}`];
  });
  return [text, ...details]
    .filter((s) => s !== '')
    .join(': ')
    .slice(0, 500);
}

/** The `rel="next"` URL of a Link header (RFC 8288, as GitHub, GitLab and Gitea send it). */
export function nextLink(link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]+)>\s*;(.*)$/.exec(part.trim());
    if (match?.[2] !== undefined && /\brel="?next"?/.test(match[2])) return match[1];
  }
  return undefined;
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === '') return undefined;
  if (contentType?.includes('json') === true) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function networkMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.name === 'TimeoutError' ? 'timed out' : err.message}${cause}`;
}
