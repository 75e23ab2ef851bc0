import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { AppContext } from '../context.js';
import { AgenticError } from '../lib/errors.js';
import { CompletionWatch } from './completion-watch.js';
import type { McpHttpSettings } from './http-options.js';
import { createMcpSession, type McpSession } from './server.js';
import { bearerToken, loadOrCreateToken, tokenMatches } from './token.js';

/** Path the MCP endpoint is served on. */
export const MCP_PATH = '/mcp';
/** Largest accepted POST body. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Default most concurrent MCP sessions. */
export const DEFAULT_MAX_SESSIONS = 100;
/** Default time a session with no open request or stream lives on, in ms: 5 minutes. */
export const DEFAULT_IDLE_MS = 5 * 60_000;
/** Default grace after a client's listening stream ends before its session is freed, in ms. */
export const DEFAULT_GONE_GRACE_MS = 3_000;

/** Options of {@link startMcpHttp} beyond the validated flags. */
export interface McpHttpOptions extends McpHttpSettings {
  /**
   * Most concurrent sessions (default {@link DEFAULT_MAX_SESSIONS}). At the limit, an initialize
   * first frees the longest-idle session with nothing open; only when every session is busy
   * does it get 503.
   */
  maxSessions?: number | undefined;
  /** A session with no open request or stream for this long is closed, in ms (default {@link DEFAULT_IDLE_MS}). */
  idleMs?: number | undefined;
  /**
   * A client that closes (the SDK client aborts its listening GET stream and sends nothing
   * else) frees its session this long after the stream ended with nothing else open, in ms
   * (default {@link DEFAULT_GONE_GRACE_MS}); a request in between keeps the session.
   */
  goneGraceMs?: number;
  /** Completion polling interval, in ms (default 1000). */
  pollMs?: number;
}

/** A running MCP HTTP endpoint. */
export interface McpHttpServer {
  /** `http://<host>:<port>/mcp`. */
  readonly url: string;
  readonly port: number;
  /** Where the token lives, when it was not given on the command line. */
  readonly tokenPath: string | undefined;
  /** Sessions currently held (for `doctor`-style reporting and tests). */
  sessionCount(): number;
  /** Closes every session and the listener. */
  close(): Promise<void>;
}

interface Live {
  transport: StreamableHTTPServerTransport;
  session: McpSession;
  open: number;
  lastActive: number;
  /** Pending close after the client's listening stream ended. */
  goneTimer?: NodeJS.Timeout | undefined;
}

/**
 * Serves the MCP tools over streamable HTTP (stateful: the `Mcp-Session-Id` header names a
 * session; each session has its own server, so completion notifications reach the client
 * that dispatched). Every request needs `Authorization: Bearer <token>` (401 otherwise,
 * compared in constant time); the token is the given one or `<CoreRoot>/mcp.token`. Throws
 * IO_FAILED when the address cannot be bound.
 */
export async function startMcpHttp(
  ctx: AppContext,
  options: McpHttpOptions,
): Promise<McpHttpServer> {
  const fromFile = options.token === undefined ? loadOrCreateToken(ctx.config.coreRoot) : undefined;
  const token = options.token ?? fromFile?.token ?? '';
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const goneGraceMs = options.goneGraceMs ?? DEFAULT_GONE_GRACE_MS;
  const watch = new CompletionWatch(ctx, options.pollMs);
  const sessions = new Map<string, Live>();
  const log = ctx.logger;

  const track = (live: Live, res: ServerResponse, listening = false): void => {
    live.open += 1;
    clearTimeout(live.goneTimer);
    live.goneTimer = undefined;
    res.on('close', () => {
      live.open -= 1;
      live.lastActive = Date.now();
      // The listening stream ending with nothing else open is how a closed SDK client looks:
      // free its session soon, unless the client comes back (a reconnect) within the grace.
      if (listening && live.open === 0)
        live.goneTimer = setTimeout(() => {
          if (live.open === 0) void live.transport.close();
        }, goneGraceMs).unref();
    });
  };

  /** Closes the longest-idle session that has nothing open; false when every session is busy. */
  const evictIdle = async (): Promise<boolean> => {
    let oldest: Live | undefined;
    for (const live of sessions.values())
      if (live.open === 0 && (oldest === undefined || live.lastActive < oldest.lastActive))
        oldest = live;
    if (oldest === undefined) return false;
    log.info({ session: oldest.transport.sessionId }, 'mcp: freeing an idle session for a new one');
    await oldest.transport.close();
    return true;
  };

  const openSession = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
  ): Promise<void> => {
    if (sessions.size >= maxSessions && !(await evictIdle())) {
      return rpcError(
        res,
        503,
        -32000,
        `too many busy sessions (${maxSessions}); close one first or raise --mcp-max-sessions`,
      );
    }
    const session = createMcpSession(ctx, { watch });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        const live: Live = { transport, session, open: 0, lastActive: Date.now() };
        sessions.set(id, live);
        track(live, res);
        log.info({ session: id }, 'mcp: session opened');
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      const live = id === undefined ? undefined : sessions.get(id);
      clearTimeout(live?.goneTimer);
      if (id !== undefined && sessions.delete(id)) log.info({ session: id }, 'mcp: session closed');
      void session.close();
    };
    await session.server.connect(transport);
    await transport.handleRequest(req, res, body);
    if (transport.sessionId === undefined) await session.close();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!tokenMatches(token, bearerToken(req.headers.authorization))) {
      log.warn(
        { method: req.method, path: pathOf(req) },
        'mcp: rejected a request without a valid token',
      );
      res.setHeader('WWW-Authenticate', 'Bearer realm="agentic"');
      return rpcError(res, 401, -32001, 'unauthorized: send Authorization: Bearer <token>');
    }
    if (pathOf(req) !== MCP_PATH)
      return rpcError(res, 404, -32601, `not found; the MCP endpoint is ${MCP_PATH}`);
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    const live = sessionId === undefined ? undefined : sessions.get(sessionId);
    if (req.method === 'POST') {
      const body = await readJson(req);
      if (body.kind === 'too-large')
        return rpcError(res, 413, -32600, `body larger than ${MAX_BODY_BYTES} bytes`);
      if (body.kind === 'invalid')
        return rpcError(res, 400, -32700, 'parse error: body is not JSON');
      if (live) {
        track(live, res);
        return live.transport.handleRequest(req, res, body.value);
      }
      if (sessionId !== undefined)
        return rpcError(res, 404, -32001, 'session not found; initialize a new one');
      if (!isInitializeRequest(body.value))
        return rpcError(res, 400, -32000, 'no Mcp-Session-Id header: send initialize first');
      return openSession(req, res, body.value);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (sessionId === undefined)
        return rpcError(res, 400, -32000, 'missing Mcp-Session-Id header');
      if (!live) return rpcError(res, 404, -32001, 'session not found; initialize a new one');
      track(live, res, req.method === 'GET');
      return live.transport.handleRequest(req, res);
    }
    res.setHeader('Allow', 'GET, POST, DELETE');
    return rpcError(res, 405, -32000, 'method not allowed');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err: err instanceof Error ? err.stack : String(err) }, 'mcp: request failed');
      if (!res.headersSent) rpcError(res, 500, -32603, 'internal error');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new AgenticError(
          'IO_FAILED',
          `cannot serve MCP on ${options.host}:${options.port}: ${err.message}`,
          {
            cause: err,
          },
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}${MCP_PATH}`;

  const reaper = setInterval(
    () => {
      const cutoff = Date.now() - idleMs;
      for (const live of sessions.values())
        if (live.open === 0 && live.lastActive < cutoff) void live.transport.close();
    },
    Math.max(1_000, Math.min(15_000, idleMs / 2)),
  ).unref();

  log.info({ url, token_file: fromFile?.path ?? null }, 'mcp: listening');
  return {
    url,
    port,
    tokenPath: fromFile?.path,
    sessionCount: () => sessions.size,
    async close() {
      clearInterval(reaper);
      for (const live of sessions.values()) clearTimeout(live.goneTimer);
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...sessions.values()].map((l) => l.session.close()));
      sessions.clear();
      watch.close();
      server.closeAllConnections();
      await closing;
    },
  };
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

type Body = { kind: 'ok'; value: unknown } | { kind: 'invalid' } | { kind: 'too-large' };

/** Reads a JSON body; past {@link MAX_BODY_BYTES} the rest is drained unread so the 413 can still be sent. */
function readJson(req: IncomingMessage): Promise<Body> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
    req.resume();
    return Promise.resolve({ kind: 'too-large' });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return resolve({ kind: 'too-large' });
      try {
        resolve({
          kind: 'ok',
          value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
        });
      } catch {
        resolve({ kind: 'invalid' });
      }
    });
  });
}
