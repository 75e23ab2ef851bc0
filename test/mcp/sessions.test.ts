import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { startMcpHttp, type McpHttpServer } from '../../src/mcp/http.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { waitUntil } from '../helpers/dispatch.js';

const TOKEN = 'a-test-token-for-sessions';

describe('MCP over HTTP: the session table', () => {
  let root: TempRoot | undefined;
  let ctx: AppContext | undefined;
  let server: McpHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await ctx?.close();
    ctx = undefined;
    root?.cleanup();
  });

  const start = async (options: { maxSessions?: number; idleMs?: number }) => {
    root = tempRoot('agentic-mcp-');
    ctx = testContext(root);
    server = await startMcpHttp(ctx, { port: 0, host: '127.0.0.1', token: TOKEN, ...options });
    return server;
  };

  /** Connects the official SDK client, lists the tools, and closes it the way most clients do (no DELETE). */
  const connectAndClose = async (url: string): Promise<void> => {
    const client = new Client({ name: 'cycle', version: '0' });
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    });
    await client.connect(transport);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
  };

  it('serves 100 connect/close cycles of the SDK client with room for 10 sessions, and frees closed sessions', async () => {
    const s = await start({ maxSessions: 10 });
    for (let i = 0; i < 100; i++) await connectAndClose(s.url);
    // A new client still gets in, and the closed sessions are given back without waiting for idle expiry.
    await connectAndClose(s.url);
    await waitUntil('closed sessions to be freed', () => s.sessionCount() === 0, 30_000);
  });

  it('expires a session that was opened and then left alone', async () => {
    const s = await start({ idleMs: 1_000 });
    const res = await fetch(s.url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'curl', version: '0' },
        },
      }),
    });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(s.sessionCount()).toBe(1);
    await waitUntil('the idle session to expire', () => s.sessionCount() === 0, 30_000);
  });
});
