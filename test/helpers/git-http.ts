import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** A git smart-HTTP server (`git http-backend`) on 127.0.0.1 serving the bare repositories under a root. */
export interface GitHttpServer {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** `127.0.0.1:<port>`: the host as a remote URL writes it (agents.yaml `forges[].host`). */
  readonly host: string;
  /** Pushes received (receive-pack requests that ended), in order, by repository path. */
  readonly pushes: string[];
  close(): Promise<void>;
}

/**
 * Serves `<projectRoot>/<path>.git` to git over HTTP, clone and push, with no authentication
 * (a fixed REMOTE_USER lets receive-pack in). `onPush(repoPath)` runs after each push has been
 * answered, before the client sees the end of the response, so a fake forge can learn the new
 * branches before the pusher asks it for a pull request.
 */
export async function startGitHttp(
  projectRoot: string,
  onPush: (repoPath: string) => void = () => undefined,
): Promise<GitHttpServer> {
  const pushes: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: 'agentic-test',
        REMOTE_ADDR: '127.0.0.1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        CONTENT_LENGTH: String(body.length),
        ...(req.headers['content-encoding'] !== undefined
          ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
          : {}),
        ...(typeof req.headers['git-protocol'] === 'string'
          ? { GIT_PROTOCOL: req.headers['git-protocol'] }
          : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.resume();
    // http-backend may answer (and exit) without reading the request body.
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', () => resolve());
    });
    const raw = Buffer.concat(out);
    let split = raw.indexOf('\r\n\r\n');
    let gap = 4;
    if (split < 0) {
      split = raw.indexOf('\n\n');
      gap = 2;
    }
    const head = split < 0 ? raw.toString('latin1') : raw.subarray(0, split).toString('latin1');
    const payload = split < 0 ? Buffer.alloc(0) : raw.subarray(split + gap);
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]) || 200;
      else headers[name] = value;
    }
    if (url.pathname.endsWith('/git-receive-pack')) {
      const repoPath = url.pathname.slice(1, -'/git-receive-pack'.length);
      pushes.push(repoPath);
      onPush(repoPath);
    }
    res.writeHead(status, headers);
    res.end(payload);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    pushes,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
