import { afterEach, describe, expect, it } from 'vitest';
import { readLease } from '../../src/dispatch/runner-lease.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { makeSourceRepo, startDaemon, waitUntil, type Daemon } from '../helpers/dispatch.js';
import { callOk, connectRecording, connectStdio, untilStatus, type Harness } from './fixture.js';
import { describeTools } from './tools-suite.js';

describeTools('stdio', { connect: (root) => connectStdio(root) });

describe('agentic mcp on stdio', () => {
  let root: TempRoot;
  let h: Harness | undefined;
  let daemon: Daemon | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
    await daemon?.stop('SIGTERM');
    daemon = undefined;
    root.cleanup();
  });

  it('writes nothing but JSON-RPC frames to stdout across a whole session, runner logs included', async () => {
    root = tempRoot('agentic-mcp-');
    const repo = makeSourceRepo(root);
    const rec = await connectRecording(root, ['--log-level', 'debug']);
    h = rec;
    await h.client.listTools();
    const d = await callOk<{ workspace: string }>(h, 'agentic_dispatch', {
      repo,
      agent: 'shell',
      task: 'echo to-the-log; echo to-stderr >&2',
    });
    await untilStatus(h, d.workspace, 'completed');
    await waitUntil('the completion notice', () =>
      h?.notices.find((n) => n.workspace === d.workspace),
    );
    await h.client.callTool({
      name: 'agentic_dispatch',
      arguments: { repo, task: 'x', org: '../x' },
    });
    await h.client.callTool({ name: 'agentic_logs', arguments: { workspace: d.workspace } });
    await h.close();
    h = undefined;

    // The runner and the session logged at debug level, on stderr.
    expect(rec.transport.stderr).toContain('runner started');
    expect(rec.transport.stderr).toContain('"level":20');
    const lines = rec.transport.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBeGreaterThan(8);
    for (const line of lines) {
      const frame = JSON.parse(line) as { jsonrpc?: string };
      expect(frame.jsonrpc, line).toBe('2.0');
    }
    expect(rec.transport.stdout).not.toContain('to-the-log\n');
  });

  it('closes the runner and releases the lease on SIGTERM', async () => {
    root = tempRoot('agentic-mcp-');
    const rec = await connectRecording(root, []);
    h = rec;
    const proc = rec.transport.process;
    await waitUntil('the lease', () => readLease(root.coreRoot)?.pid === proc?.pid);
    const exited = new Promise<number | null>((resolve) =>
      proc?.once('exit', (code) => resolve(code)),
    );
    proc?.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(readLease(root.coreRoot)).toBeUndefined();
    expect(rec.transport.stderr).toContain('"reason":"SIGTERM"');
    expect(rec.transport.stderr).toContain('runner stopped');
  });

  it('acts as a plain client when a daemon holds the lease and still notifies on completion', async () => {
    root = tempRoot('agentic-mcp-');
    const repo = makeSourceRepo(root);
    daemon = await startDaemon(root);
    h = await connectStdio(root);
    await waitUntil('the client mode log', () =>
      h?.stderr().includes('another runner holds the lease; acting as a client'),
    );
    const d = await callOk<{ workspace: string }>(h, 'agentic_dispatch', {
      repo,
      agent: 'shell',
      task: 'printf "need a key" > BLOCKED.md',
    });
    const notice = await waitUntil('the blocked notice', () =>
      h?.notices.find((n) => n.workspace === d.workspace),
    );
    expect(notice).toMatchObject({ status: 'blocked', question: 'need a key' });
    // The daemon ran it, not the session.
    expect(readLease(root.coreRoot)?.pid).toBe(daemon.proc.pid);
    expect(h.stderr()).not.toContain('embedded runner started');
  });

  it('takes over as the runner when the daemon stops', async () => {
    root = tempRoot('agentic-mcp-');
    const repo = makeSourceRepo(root);
    daemon = await startDaemon(root);
    h = await connectStdio(root);
    await waitUntil('the client mode log', () => h?.stderr().includes('acting as a client'));
    await daemon.stop('SIGTERM');
    daemon = undefined;
    await waitUntil('the takeover', () => h?.stderr().includes('embedded runner started'), 20_000);
    const d = await callOk<{ workspace: string }>(h, 'agentic_dispatch', {
      repo,
      agent: 'shell',
      task: 'true',
    });
    await untilStatus(h, d.workspace, 'completed');
  });
});
