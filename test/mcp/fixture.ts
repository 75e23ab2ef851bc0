import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  LoggingMessageNotificationSchema,
  type CallToolResult,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';
import { CLI } from '../helpers/cli.js';
import type { TempRoot } from '../helpers/context.js';
import { GIT_ENV, waitUntil } from '../helpers/dispatch.js';

/** The data of a completion notification as the client receives it. */
export interface Notice {
  event: string;
  workspace: string;
  status: string;
  question: string | null;
}

/** A connected MCP client plus what the server told it. */
export interface Harness {
  client: Client;
  notices: Notice[];
  stderr(): string;
  close(): Promise<void>;
}

/** Env of a server process: PATH, a git identity and the temp CoreRoot, nothing else. */
export function serverEnv(root: TempRoot): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...GIT_ENV, ...root.env };
}

function newClient(notices: Notice[]): Client {
  const client = new Client({ name: 'agentic-test', version: '0.0.0' });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    const data = n.params.data as Notice | undefined;
    if (n.params.logger === 'agentic' && data?.event === 'dispatch_finished') notices.push(data);
  });
  return client;
}

/** Spawns `agentic mcp` (the built CLI) through the SDK's StdioClientTransport and connects. */
export async function connectStdio(root: TempRoot, args: string[] = []): Promise<Harness> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', ...args],
    env: serverEnv(root),
    cwd: root.coreRoot,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const notices: Notice[] = [];
  const client = newClient(notices);
  await client.connect(transport);
  return { client, notices, stderr: () => stderr, close: () => client.close() };
}

/** `agentic daemon --mcp-port 0 …` as a real child process. */
export interface McpDaemon {
  proc: ChildProcess;
  url: string;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts the daemon with the MCP HTTP transport and reads the URL it logged on stderr. */
export async function startMcpDaemon(
  root: TempRoot,
  args: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<McpDaemon> {
  let stderr = '';
  const proc = spawn(process.execPath, [CLI, 'daemon', '--mcp-port', '0', ...args], {
    env: { ...serverEnv(root), ...extraEnv },
    cwd: root.coreRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await waitUntil('the MCP endpoint to listen', () => {
    if (proc.exitCode !== null) throw new Error(`daemon exited: ${stderr}`);
    for (const line of stderr.split('\n')) {
      if (!line.includes('mcp: listening')) continue;
      return (JSON.parse(line) as { url: string }).url;
    }
    return undefined;
  });
  return {
    proc,
    url,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** The token the daemon generated into `<CoreRoot>/mcp.token`. */
export function tokenFile(root: TempRoot): string {
  return readFileSync(join(root.coreRoot, 'mcp.token'), 'utf8').trim();
}

/** Connects the SDK client over streamable HTTP with a bearer token. */
export async function connectHttp(daemon: McpDaemon, token: string): Promise<Harness> {
  const transport = new StreamableHTTPClientTransport(new URL(daemon.url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const notices: Notice[] = [];
  const client = newClient(notices);
  await client.connect(transport);
  return {
    client,
    notices,
    stderr: daemon.stderr,
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

/** Calls a tool that must succeed and returns its structured content. */
export async function callOk<T = Record<string, unknown>>(
  h: Harness,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  const result = (await h.client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, `${name} failed: ${JSON.stringify(result.content)}`).toBeFalsy();
  expect(result.content[0]?.type).toBe('text');
  return result.structuredContent as T;
}

/** Calls a tool that must fail and returns the text of its `isError` result. */
export async function callError(
  h: Harness,
  name: string,
  args: Record<string, unknown>,
): Promise<string> {
  const result = (await h.client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, `${name} unexpectedly succeeded`).toBe(true);
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}

/** One row of agentic_status. */
export interface Row {
  name: string;
  status: string;
  question: string | null;
  runs: number;
  pid: number | null;
}

/** Polls agentic_status until `workspace` has `status`; returns its row. */
export async function untilStatus(
  h: Harness,
  workspace: string,
  status: string,
  timeoutMs?: number,
): Promise<Row> {
  return waitUntil(
    `${workspace} to be ${status}`,
    async () => {
      const s = await callOk<{ workspaces: Row[] }>(h, 'agentic_status', { workspace });
      const row = s.workspaces[0];
      return row?.status === status ? row : undefined;
    },
    timeoutMs,
  );
}

/** Polls agentic_status until the agent of `workspace` runs (status running with a pid, not just preparing). */
export async function untilRunning(h: Harness, workspace: string): Promise<Row> {
  return waitUntil(`${workspace} to run`, async () => {
    const s = await callOk<{ workspaces: Row[] }>(h, 'agentic_status', { workspace });
    const row = s.workspaces[0];
    return row?.status === 'running' && row.pid !== null ? row : undefined;
  });
}

/**
 * A stdio client transport that spawns `agentic mcp` itself and keeps every byte the server
 * wrote on stdout, so a test can check that nothing but JSON-RPC frames went there.
 */
export class RecordingStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Raw stdout of the server. */
  stdout = '';
  stderr = '';
  private proc: ChildProcess | undefined;
  private readonly buffer = new ReadBuffer();

  constructor(
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly cwd: string,
  ) {}

  async start(): Promise<void> {
    const proc = spawn(process.execPath, [CLI, 'mcp', ...this.args], {
      env: this.env,
      cwd: this.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    proc.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      this.buffer.append(d);
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (err) {
          this.onerror?.(err as Error);
          continue;
        }
        if (message === null) break;
        this.onmessage?.(message);
      }
    });
    proc.on('close', () => this.onclose?.());
    await new Promise<void>((resolve, reject) => {
      proc.once('spawn', () => resolve());
      proc.once('error', reject);
    });
  }

  /** The server process (after start). */
  get process(): ChildProcess | undefined {
    return this.proc;
  }

  async send(message: JSONRPCMessage): Promise<void> {
    this.proc?.stdin?.write(serializeMessage(message));
  }

  async close(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    proc.stdin?.end();
    await closed;
  }
}

/** Connects a client through {@link RecordingStdioTransport}. */
export async function connectRecording(
  root: TempRoot,
  args: string[],
): Promise<Harness & { transport: RecordingStdioTransport }> {
  const transport = new RecordingStdioTransport(args, serverEnv(root), root.coreRoot);
  const notices: Notice[] = [];
  const client = newClient(notices);
  await client.connect(transport);
  return {
    client,
    notices,
    transport,
    stderr: () => transport.stderr,
    close: () => client.close(),
  };
}
