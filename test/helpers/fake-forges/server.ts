import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** One request a fake forge received. */
export interface RecordedRequest {
  method: string;
  /** Path without the query, as sent (still percent-encoded). */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** An answer: JSON `body`, or plain `text`, with a status and headers. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  text?: string;
}

/** A request as a route handler sees it; `params` are the decoded capture groups of the route. */
export interface FakeRequest extends RecordedRequest {
  params: string[];
}

type Handler = (req: FakeRequest) => Reply | Promise<Reply>;

/** Which requests a scripted failure answers: by method and/or a pattern on the path. */
export interface ScriptMatch {
  method?: string;
  path?: RegExp;
}

/**
 * A loopback HTTP server (127.0.0.1, ephemeral port) that records every request, checks the
 * token, dispatches to routes and can be told to answer the next matching requests with a
 * scripted failure. Subclasses register the routes of one forge's published API.
 */
export class FakeForgeServer {
  readonly requests: RecordedRequest[] = [];
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly routes: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];
  private readonly scripts: Array<{ match: ScriptMatch; reply: Reply }> = [];

  constructor(
    /** Path prefix of the API (`/api/v1`); routes are relative to it. */
    readonly prefix: string,
    /** Answers a request whose credentials are wrong, or undefined to let it through. */
    private readonly authorize: (req: RecordedRequest) => Reply | undefined,
  ) {}

  /** `http://127.0.0.1:<port>`. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The API root the adapters are pointed at. */
  get apiUrl(): string {
    return `${this.origin}${this.prefix}`;
  }

  /** Registers a route: `pattern` matches the path after the prefix, its groups become `params`. */
  route(method: string, pattern: RegExp, handler: Handler): void {
    this.routes.push({ method, pattern, handler });
  }

  /** Answers the next request matching `match` with `reply` (once); later scripts queue behind. */
  script(reply: Reply, match: ScriptMatch = {}): void {
    this.scripts.push({ match, reply });
  }

  /** Requests with this method whose path (after the prefix) matches. */
  sent(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method === method && path.test(r.path.slice(this.prefix.length)),
    );
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.origin);
    let body: unknown = undefined;
    if (raw !== '') {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        body = raw;
      }
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    };
    this.requests.push(recorded);
    const reply = await this.answer(recorded);
    const headers: Record<string, string> = { ...reply.headers };
    let payload = '';
    if (reply.text !== undefined) {
      payload = reply.text;
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else if (reply.body !== undefined) {
      payload = JSON.stringify(reply.body);
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  private async answer(req: RecordedRequest): Promise<Reply> {
    const scripted = this.scripts.findIndex(
      (s) =>
        (s.match.method === undefined || s.match.method === req.method) &&
        (s.match.path === undefined || s.match.path.test(req.path)),
    );
    if (scripted >= 0) {
      const [script] = this.scripts.splice(scripted, 1);
      if (script) return script.reply;
    }
    const denied = this.authorize(req);
    if (denied) return denied;
    if (!req.path.startsWith(this.prefix)) return { status: 404, body: { message: 'Not Found' } };
    const rest = req.path.slice(this.prefix.length);
    for (const route of this.routes) {
      if (route.method !== req.method) continue;
      const match = route.pattern.exec(rest);
      if (!match) continue;
      const params = match.slice(1).map((p) => decodeURIComponent(p ?? ''));
      return route.handler({ ...req, params });
    }
    return { status: 404, body: { message: 'Not Found' } };
  }
}

/** Splits `items` into pages: the slice for `page` (1-based) and, when there is more, the next page number. */
export function pageOf<T>(
  items: readonly T[],
  page: number,
  perPage: number,
): { slice: T[]; next: number | undefined; last: number } {
  const start = (page - 1) * perPage;
  const last = Math.max(1, Math.ceil(items.length / perPage));
  return {
    slice: items.slice(start, start + perPage),
    next: page < last ? page + 1 : undefined,
    last,
  };
}

/** An RFC 8288 Link header with `next`/`last` (and `first`/`prev` when not on the first page), as the forges send. */
export function linkHeader(
  origin: string,
  req: RecordedRequest,
  page: number,
  next: number | undefined,
  last: number,
): string {
  const at = (n: number): string => {
    const query = new URLSearchParams(req.query);
    query.set('page', String(n));
    return `<${origin}${req.path}?${query.toString()}>`;
  };
  const links: string[] = [];
  if (next !== undefined) links.push(`${at(next)}; rel="next"`, `${at(last)}; rel="last"`);
  if (page > 1) links.push(`${at(1)}; rel="first"`, `${at(page - 1)}; rel="prev"`);
  return links.join(', ');
}
