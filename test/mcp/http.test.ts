import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import {
  callOk,
  connectHttp,
  serverEnv,
  startMcpDaemon,
  tokenFile,
  type Harness,
  type McpDaemon,
} from './fixture.js';
import { describeTools } from './tools-suite.js';

let suiteDaemon: McpDaemon | undefined;
describeTools('streamable HTTP', {
  async connect(root) {
    suiteDaemon = await startMcpDaemon(root);
    return connectHttp(suiteDaemon, tokenFile(root));
  },
  async stop() {
    expect(await suiteDaemon?.stop()).toBe(0);
  },
});

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'curl', version: '0' },
  },
};

describe('agentic daemon --mcp-port', () => {
  let root: TempRoot;
  let daemon: McpDaemon | undefined;
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
    await daemon?.stop();
    daemon = undefined;
    root.cleanup();
  });

  const post = (url: string, headers: Record<string, string>): Promise<Response> =>
    fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(initialize),
    });

  it('binds 127.0.0.1, writes a 0600 token file and answers 401 without or with a wrong token', async () => {
    root = tempRoot('agentic-mcp-');
    daemon = await startMcpDaemon(root);
    expect(daemon.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const token = tokenFile(root);
    expect(token).toMatch(/^agm_[\w-]{43}$/);
    expect(statSync(join(root.coreRoot, 'mcp.token')).mode & 0o777).toBe(0o600);

    const none = await post(daemon.url, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.json()).toMatchObject({
      error: { message: expect.stringContaining('unauthorized') },
    });
    expect((await post(daemon.url, { Authorization: `Bearer ${token}x` })).status).toBe(401);
    expect((await post(daemon.url, { Authorization: token })).status).toBe(401);
    expect(
      (await fetch(daemon.url, { method: 'GET', headers: { Authorization: 'Bearer nope' } }))
        .status,
    ).toBe(401);
    // The right token opens a session.
    const ok = await post(daemon.url, { Authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('mcp-session-id')).toBeTruthy();
    await ok.body?.cancel();
    // Logs never carry the token.
    expect(daemon.stderr()).not.toContain(token);
  });

  it('keeps the token file across restarts and uses --mcp-token instead when given', async () => {
    root = tempRoot('agentic-mcp-');
    daemon = await startMcpDaemon(root);
    const first = tokenFile(root);
    expect(await daemon.stop()).toBe(0);
    daemon = await startMcpDaemon(root);
    expect(tokenFile(root)).toBe(first);
    expect(await daemon.stop()).toBe(0);

    const given = 'a-token-given-on-the-command-line';
    daemon = await startMcpDaemon(root, ['--mcp-token', given]);
    expect((await post(daemon.url, { Authorization: `Bearer ${first}` })).status).toBe(401);
    h = await connectHttp(daemon, given);
    expect((await callOk<{ total: number }>(h, 'agentic_status')).total).toBe(0);
  });

  it('takes the token from --mcp-token-file or $CORE_AGENT_MCP_TOKEN, so it never shows in ps', async () => {
    root = tempRoot('agentic-mcp-');
    const fromFile = 'a-token-kept-in-a-file-0001';
    const file = join(root.coreRoot, 'given.token');
    writeFileSync(file, `${fromFile}\n`, { mode: 0o600 });
    daemon = await startMcpDaemon(root, ['--mcp-token-file', file]);
    expect(readFileSync(`/proc/${daemon.proc.pid}/cmdline`, 'utf8')).not.toContain(fromFile);
    h = await connectHttp(daemon, fromFile);
    expect((await callOk<{ total: number }>(h, 'agentic_status')).total).toBe(0);
    await h.close();
    h = undefined;
    expect(await daemon.stop()).toBe(0);

    const fromEnv = 'a-token-kept-in-the-environment';
    daemon = await startMcpDaemon(root, [], { CORE_AGENT_MCP_TOKEN: fromEnv });
    expect((await post(daemon.url, { Authorization: `Bearer ${fromFile}` })).status).toBe(401);
    h = await connectHttp(daemon, fromEnv);
    expect((await callOk<{ total: number }>(h, 'agentic_status')).total).toBe(0);

    const missing = await runCli(
      ['daemon', '--mcp-port', '0', '--mcp-token-file', join(root.coreRoot, 'nope')],
      serverEnv(root),
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('mcp-token-file');
  });

  it('refuses a non-loopback address without --mcp-allow-remote, and weak or stray flags', async () => {
    root = tempRoot('agentic-mcp-');
    const env = serverEnv(root);
    const remote = await runCli(['daemon', '--mcp-port', '0', '--mcp-host', '0.0.0.0'], env);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('--mcp-allow-remote');
    const weak = await runCli(['daemon', '--mcp-port', '0', '--mcp-token', 'short'], env);
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain('mcp-token must be at least 16 characters');
    const stray = await runCli(['daemon', '--mcp-host', '127.0.0.1'], env);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('need --mcp-port');
    const badPort = await runCli(['daemon', '--mcp-port', '70000'], env);
    expect(badPort.code).toBe(2);
  });

  it('binds another address with --mcp-allow-remote and still requires the token', async () => {
    root = tempRoot('agentic-mcp-');
    daemon = await startMcpDaemon(root, ['--mcp-host', '0.0.0.0', '--mcp-allow-remote']);
    const url = daemon.url.replace('0.0.0.0', '127.0.0.1');
    expect((await post(url, {})).status).toBe(401);
    const ok = await post(url, { Authorization: `Bearer ${tokenFile(root)}` });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });
});
