import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How a stand-in model API answers: `write` makes the model call the CLI's file-writing tool
 * once and then end its turn; `usage-limit` answers 429 with a provider's usage-limit body;
 * `auth` answers 401; `hang` accepts the request and never answers.
 */
export type ModelBehaviour =
  | { kind: 'write'; path: string; content: string }
  | { kind: 'usage-limit'; variant?: 'quota' | 'usage' }
  | { kind: 'auth' }
  | { kind: 'hang' };

/** One request a stand-in received: its method, path and parsed JSON body (undefined when none). */
export interface SeenRequest {
  method: string;
  path: string;
  body: unknown;
  text: string;
}

/** A stand-in model API on 127.0.0.1. */
export interface ModelApi {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:1234. */
  url: string;
  /** Every request received so far. */
  requests: SeenRequest[];
  /** Closes the server and every open connection (hung requests included). */
  close(): Promise<void>;
}

/** What one flavour of model API does with a request, given the behaviour. */
export type Responder = (req: SeenRequest, res: ServerResponse, behaviour: ModelBehaviour) => void;

/** Starts a stand-in model API that answers every request with `responder`. */
export async function startModelApi(
  responder: Responder,
  behaviour: ModelBehaviour,
): Promise<ModelApi> {
  const requests: SeenRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = undefined;
      }
      const seen = { method: req.method ?? 'GET', path: req.url ?? '/', body, text };
      requests.push(seen);
      if (behaviour.kind === 'hang') return;
      responder(seen, res, behaviour);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes one server-sent event; `event` is omitted when the protocol uses data lines only. */
export function sse(res: ServerResponse, data: unknown, event?: string): void {
  res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
}

/** Starts an SSE response. */
export function sseHead(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
}

/** Answers with a JSON body and status. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The whole request text, lower-cased helpers use it to tell a first turn from a tool result. */
export function mentions(req: SeenRequest, needle: string): boolean {
  return req.text.includes(needle);
}
