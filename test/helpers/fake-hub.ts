import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** A scripted answer: an HTTP status, or a request that never answers, or a reset connection. */
export type FakeAnswer =
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { kind: 'hang' }
  | { kind: 'reset' };

/** One request the hub received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** What the hub did with it. */
  answered: 'ok' | 'scripted';
}

type Route = 'sync' | 'context' | 'status';

/**
 * A small hub speaking the sync protocol on 127.0.0.1 for client tests (node:http): stores pushed records once
 * per (agent_id, id, fingerprint), replays Idempotency-Keys, serves context/status, and can be
 * told to answer the next requests of a route with a status, a hang or a connection reset.
 */
export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  /** Stored records by `agent_id|id|fingerprint`. */
  readonly stored = new Map<string, Record<string, unknown>>();
  /** How many times each `agent_id|id|fingerprint` arrived in an accepted request. */
  readonly received = new Map<string, number>();
  readonly idempotencyKeys = new Set<string>();
  contextItems: Array<Record<string, unknown>> = [];
  statusData: Record<string, unknown> = { status: 'ok' };
  /** When set, requests without `Authorization: Bearer <token>` get 401. */
  token: string | undefined;
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly scripts: Record<Route, FakeAnswer[]> = { sync: [], context: [], status: [] };
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];

  /** Starts a hub on an ephemeral port (or `port`). */
  static async start(port = 0): Promise<FakeHub> {
    const hub = new FakeHub();
    await hub.listen(port);
    return hub;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Sync requests that carried records, in arrival order. */
  get pushes(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === '/v1/agent/sync');
  }

  /** Answers the next requests of `route` with `answers`, in order; then back to normal. */
  script(route: Route, ...answers: FakeAnswer[]): void {
    this.scripts[route].push(...answers);
  }

  /** Resolves once `n` requests in total have arrived. */
  waitForRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Stops listening and destroys open connections (the hub is "down"); `listen` brings it back on the same port. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens on `port` (0 = the previous port, or an ephemeral one). */
  async listen(port = this.port): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address === 'object' && address) this.port = address.port;
    this.server = server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://hub');
    const route: Route | undefined =
      url.pathname === '/v1/agent/sync'
        ? 'sync'
        : url.pathname === '/v1/agent/context'
          ? 'context'
          : url.pathname === '/v1/agent/status'
            ? 'status'
            : undefined;
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const answer = route ? this.scripts[route].shift() : undefined;
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      answered: answer ? 'scripted' : 'ok',
    });
    for (const w of [...this.waiters])
      if (this.requests.length >= w.n) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    if (answer && 'kind' in answer) {
      if (answer.kind === 'reset') req.socket.destroy();
      return; // hang: never answer (stop() destroys the socket)
    }
    if (answer)
      return send(res, answer.status, answer.body ?? { error: 'scripted' }, answer.headers);
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`)
      return send(res, 401, { error: 'unauthorized' });
    if (route === 'sync' && req.method === 'POST') return this.ingest(req, res, body);
    if (route === 'context') return send(res, 200, { data: this.contextItems });
    if (route === 'status')
      return send(res, 200, {
        data: { agent_id: url.searchParams.get('agent_id'), ...this.statusData },
      });
    send(res, 404, { error: 'not found' });
  }

  private ingest(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const key = req.headers['idempotency-key'];
    const push = body as { agent_id: string; dispatches: Array<Record<string, unknown>> };
    if (typeof key === 'string' && this.idempotencyKeys.has(key))
      return send(res, 200, { accepted: 0, duplicates: push.dispatches.length, replayed: true });
    if (typeof key === 'string') this.idempotencyKeys.add(key);
    let accepted = 0;
    for (const record of push.dispatches) {
      const id = `${push.agent_id}|${String(record['id'])}|${String(record['fingerprint'])}`;
      this.received.set(id, (this.received.get(id) ?? 0) + 1);
      if (!this.stored.has(id)) {
        this.stored.set(id, record);
        accepted += 1;
      }
    }
    send(res, 200, { accepted, duplicates: push.dispatches.length - accepted });
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
