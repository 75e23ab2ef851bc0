import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/hub/index.js';
import { CLI, json, runCli } from '../helpers/cli.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { call, dispatch } from './fixture.js';

interface Spawned {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts `agentic hub …` as a real process and resolves once it prints its URL on stderr. */
function spawnHub(args: string[], env: Record<string, string>): Promise<Spawned> {
  const child = spawn(process.execPath, [CLI, 'hub', ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url)
        resolve({
          child,
          url,
          stdout: () => stdout,
          stderr: () => stderr,
          stop: (signal) => {
            child.kill(signal);
            return exited;
          },
        });
    });
    void exited.then((code) =>
      reject(new Error(`hub exited (${String(code)}) before listening:\n${stderr}`)),
    );
  });
}

describe('agentic hub CLI', () => {
  let root: TempRoot;
  let db: string;
  let running: Spawned | undefined;
  beforeEach(() => {
    root = tempRoot();
    db = join(root.coreRoot, 'hub', 'hub.sqlite');
  });
  afterEach(async () => {
    if (running && running.child.exitCode === null) await running.stop('SIGKILL');
    running = undefined;
    root.cleanup();
  });

  it('token create --agent prints {agent, admin, token} once and stores only its hash', async () => {
    const res = await runCli(
      ['hub', 'token', 'create', '--agent', 'alice', '--db', db, '--json'],
      root.env,
    );
    expect(res.code).toBe(0);
    const created = json<{ agent: string; admin: boolean; token: string }>(res);
    expect(created).toEqual({
      agent: 'alice',
      admin: false,
      role: 'agent',
      id: hashToken(created.token).slice(0, 12),
      token: expect.stringMatching(/^agh_[\w-]{43}$/),
    });
    const file = readFileSync(db).toString('latin1');
    expect(file).not.toContain(created.token);
    expect(file).toContain(hashToken(created.token));
  });

  it('token create --admin makes an operator token; without --json only the token is on stdout', async () => {
    const res = await runCli(['hub', 'token', 'create', '--admin', '--db', db], root.env);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^agh_[\w-]{43}\n$/);
    expect(res.stderr).toMatch(/admin token/);
  });

  it('token create defaults the database to <CoreRoot>/hub.sqlite', async () => {
    const res = await runCli(['hub', 'token', 'create', '--agent', 'alice', '--json'], root.env);
    expect(res.code).toBe(0);
    expect(readFileSync(join(root.coreRoot, 'hub.sqlite')).length).toBeGreaterThan(0);
  });

  it('token create exits 2 without --agent or --admin, with both, or with an invalid agent id', async () => {
    for (const args of [
      [],
      ['--agent', 'a', '--admin'],
      ['--viewer', '--admin'],
      ['--agent', 'two words'],
    ]) {
      const res = await runCli(['hub', 'token', 'create', '--db', db, '--json', ...args], root.env);
      expect(res.code, args.join(' ')).toBe(2);
      expect(json<{ error: { code: string } }>(res).error.code).toBe('USAGE');
    }
  });

  it('serves on port 0, accepts a pushed batch, never logs the token, and stops cleanly on SIGTERM', async () => {
    const token = json<{ token: string }>(
      await runCli(['hub', 'token', 'create', '--agent', 'alice', '--db', db, '--json'], root.env),
    ).token;
    running = await spawnHub(['--port', '0', '--db', db, '--json'], root.env);
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(running.url).not.toMatch(/:0$/);

    const pushed = await call(running.url, 'POST', '/v1/agent/sync', {
      token,
      body: { agent_id: 'alice', dispatches: [dispatch('core/go-io/task-1')] },
      headers: { 'idempotency-key': 'entry-1' },
    });
    expect(pushed).toMatchObject({ status: 200, body: { accepted: 1, duplicates: 0 } });
    const denied = await call(running.url, 'GET', '/v1/agent/context?agent_id=bob', { token });
    expect(denied.status).toBe(403);
    await call(running.url, 'GET', `/?token=${token}`);

    expect(await running.stop('SIGTERM')).toBe(0);
    const stderr = running.stderr();
    expect(stderr).toMatch(/"path":"\/v1\/agent\/sync".*"status":200/);
    expect(stderr).toMatch(/SIGTERM, finishing in-flight requests/);
    expect(stderr).toMatch(/stopped/);
    expect(stderr).not.toContain(token);
    expect(JSON.parse(running.stdout())).toMatchObject({ url: running.url, db });
  });

  // Eight CLI runs and a hub start: the default 30 s is too tight on a loaded machine.
  it('token list shows ids and roles but never tokens; revoke and rotate take effect on a running hub at once', async () => {
    const create = async (...args: string[]) =>
      json<{ id: string; token: string }>(
        await runCli(['hub', 'token', 'create', ...args, '--db', db, '--json'], root.env),
      );
    const alice = await create('--agent', 'alice');
    const bob = await create('--agent', 'bob');
    const viewer = await create('--viewer');
    running = await spawnHub(['--port', '0', '--db', db], root.env);
    const status = (token: string, agent: string) =>
      call(running?.url ?? '', 'GET', `/v1/agent/status?agent_id=${agent}`, { token }).then(
        (r) => r.status,
      );
    expect(await status(alice.token, 'alice')).toBe(200);

    const listed = await runCli(['hub', 'token', 'list', '--db', db, '--json'], root.env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(alice.token);
    expect(json<{ tokens: unknown[] }>(listed).tokens).toEqual([
      { id: alice.id, agent: 'alice', role: 'agent', created_at: expect.any(String) },
      { id: bob.id, agent: 'bob', role: 'agent', created_at: expect.any(String) },
      { id: viewer.id, agent: null, role: 'viewer', created_at: expect.any(String) },
    ]);

    const revoked = await runCli(
      ['hub', 'token', 'revoke', alice.id, '--db', db, '--json'],
      root.env,
    );
    expect(revoked.code).toBe(0);
    expect(await status(alice.token, 'alice')).toBe(401);
    expect(await status(bob.token, 'bob')).toBe(200);

    const rotated = await runCli(
      ['hub', 'token', 'rotate', bob.id, '--db', db, '--json'],
      root.env,
    );
    expect(rotated.code).toBe(0);
    const fresh = json<{ token: string; agent: string; replaced: string }>(rotated);
    expect(fresh).toMatchObject({ agent: 'bob', replaced: bob.id });
    expect(await status(bob.token, 'bob')).toBe(401);
    expect(await status(fresh.token, 'bob')).toBe(200);

    const byAgent = await runCli(
      ['hub', 'token', 'revoke', '--agent', 'bob', '--db', db],
      root.env,
    );
    expect(byAgent.code).toBe(0);
    expect(await status(fresh.token, 'bob')).toBe(401);
    const unknown = await runCli(['hub', 'token', 'revoke', 'abcdef12', '--db', db], root.env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no token with id/);
  }, 120_000);

  it('refuses a --host other machines can reach unless --allow-remote is given', async () => {
    const res = await runCli(['hub', '--host', '0.0.0.0', '--port', '0', '--db', db], root.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--allow-remote/);
  });

  it('exits 1 with a message when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const res = await runCli(['hub', '--port', String(port), '--db', db], root.env);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
    } finally {
      blocker.close();
    }
  });

  it('exits 2 for a port out of range', async () => {
    const res = await runCli(['hub', '--port', '70000', '--db', db], root.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/port from 0 to 65535/);
  });
});
