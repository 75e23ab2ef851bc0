import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AppContext } from '../../src/context.js';
import { trackWorkspace } from '../../src/lifecycle/index.js';
import { AgenticError } from '../../src/lib/errors.js';
import {
  CompletionWatch,
  errorResult,
  isLoopback,
  loadOrCreateToken,
  readLogTail,
  resolveMcpHttpFlags,
  tokenMatches,
} from '../../src/mcp/index.js';
import { bearerToken } from '../../src/mcp/token.js';
import type { StatusRecord } from '../../src/workspace/index.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { waitUntil } from '../helpers/dispatch.js';
import { sampleRecord } from '../helpers/records.js';

const text = (r: { content: Array<{ type: string; text?: string }> }): string =>
  r.content[0]?.text ?? '';

describe('errorResult', () => {
  it('names the field of an AgenticError and keeps its code', () => {
    const r = errorResult(
      new AgenticError('WORKSPACE_NAME_INVALID', 'org must not contain a path separator', {
        field: 'org',
      }),
    );
    expect(r.isError).toBe(true);
    expect(text(r)).toBe('org: must not contain a path separator [WORKSPACE_NAME_INVALID]');
  });

  it('prefixes the field when the message does not start with it', () => {
    expect(
      text(
        errorResult(new AgenticError('AGENT_NOT_FOUND', 'unknown agent "x"', { field: 'agent' })),
      ),
    ).toBe('agent: unknown agent "x" [AGENT_NOT_FOUND]');
  });

  it('names the path of a zod error', () => {
    const parsed = z.object({ a: z.object({ b: z.number() }) }).safeParse({ a: { b: 'x' } });
    expect(parsed.success).toBe(false);
    if (!parsed.success)
      expect(text(errorResult(parsed.error))).toMatch(/^a\.b: .*\[INPUT_INVALID\]$/);
  });

  it('reports a foreign error as internal, never as the caller’s fault', () => {
    expect(text(errorResult(new TypeError('boom')))).toBe('internal error: boom [INTERNAL]');
  });
});

describe('readLogTail', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'agentic-tail-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('returns the last lines and says when earlier ones were left out', () => {
    const path = join(dir, 'a.log');
    writeFileSync(path, 'one\ntwo\nthree\n');
    expect(readLogTail(path, 2)).toEqual({ lines: ['two', 'three'], truncated: true });
    expect(readLogTail(path, 10)).toEqual({ lines: ['one', 'two', 'three'], truncated: false });
    expect(readLogTail(join(dir, 'missing.log'), 5)).toEqual({ lines: [], truncated: false });
  });

  it('drops the partial first line of the window of a huge log', () => {
    const path = join(dir, 'big.log');
    writeFileSync(path, `${'x'.repeat(2 << 20)}\nlast line`);
    expect(readLogTail(path, 3)).toEqual({ lines: ['last line'], truncated: true });
  });
});

describe('MCP HTTP settings and tokens', () => {
  it('tells loopback addresses from others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '128.0.0.1'])
      expect(isLoopback(h), h).toBe(false);
  });

  it('needs --mcp-allow-remote for a non-loopback host and a strong --mcp-token', () => {
    expect(resolveMcpHttpFlags({})).toBeUndefined();
    expect(resolveMcpHttpFlags({ mcpPort: 0 })).toEqual({
      port: 0,
      host: '127.0.0.1',
      token: undefined,
    });
    expect(() => resolveMcpHttpFlags({ mcpPort: 1, mcpHost: '0.0.0.0' })).toThrow(
      /--mcp-allow-remote/,
    );
    expect(
      resolveMcpHttpFlags({ mcpPort: 1, mcpHost: '0.0.0.0', mcpAllowRemote: true })?.host,
    ).toBe('0.0.0.0');
    expect(() => resolveMcpHttpFlags({ mcpPort: 1, mcpToken: 'short' })).toThrow(/16 characters/);
    expect(() => resolveMcpHttpFlags({ mcpToken: 'a'.repeat(20) })).toThrow(/need --mcp-port/);
  });

  it('compares tokens exactly and parses only Bearer headers', () => {
    expect(tokenMatches('secret-token-123456', 'secret-token-123456')).toBe(true);
    expect(tokenMatches('secret-token-123456', 'secret-token-12345')).toBe(false);
    expect(tokenMatches('secret-token-123456', undefined)).toBe(false);
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc  ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('creates the token file with mode 0600, keeps it, and replaces an unusable one', () => {
    const root = tempRoot();
    try {
      const first = loadOrCreateToken(root.coreRoot);
      expect(first.created).toBe(true);
      expect(statSync(first.path).mode & 0o777).toBe(0o600);
      expect(loadOrCreateToken(root.coreRoot)).toMatchObject({
        token: first.token,
        created: false,
      });
      writeFileSync(first.path, 'short\n', { mode: 0o644 });
      const replaced = loadOrCreateToken(root.coreRoot);
      expect(replaced.created).toBe(true);
      expect(replaced.token).not.toBe(first.token);
      expect(statSync(first.path).mode & 0o777).toBe(0o600);
    } finally {
      root.cleanup();
    }
  });
});

describe('CompletionWatch', () => {
  let root: TempRoot;
  let ctx: AppContext;
  let watch: CompletionWatch;
  const clock = new ManualClock(new Date('2026-03-01T10:00:00.000Z'));
  const name = 'core/go-io/task-1';

  beforeEach(() => {
    root = tempRoot();
    ctx = testContext(root, { clock });
    watch = new CompletionWatch(ctx, 20);
  });
  afterEach(async () => {
    watch.close();
    await ctx.close();
    root.cleanup();
  });

  const track = async (overrides: Partial<StatusRecord>): Promise<StatusRecord> => {
    clock.advance(1000);
    const r = await trackWorkspace(ctx, name, sampleRecord(overrides));
    if (!r) throw new Error('no record');
    return r;
  };

  it('delivers the first terminal record once, ignoring a requeue after a usage limit', async () => {
    const queued = await track({ status: 'queued' });
    const got: string[] = [];
    watch.watch(name, queued.updated_at, (_n, r) => got.push(r.status));
    ctx.events.emit('finished', name, await track({ status: 'queued', question: 'usage limit' }));
    const done = await track({ status: 'completed' });
    ctx.events.emit('finished', name, done);
    ctx.events.emit('finished', name, done);
    expect(got).toEqual(['completed']);
    expect(watch.size).toBe(0);
  });

  it('finds the outcome by polling when the runner is another process', async () => {
    const queued = await track({ status: 'queued' });
    const got: StatusRecord[] = [];
    watch.watch(name, queued.updated_at, (_n, r) => got.push(r));
    await track({ status: 'running' });
    await track({ status: 'blocked', question: 'which one?' });
    await waitUntil('the poll', () => got.length > 0);
    expect(got.map((r) => [r.status, r.question])).toEqual([['blocked', 'which one?']]);
  });

  it('ignores a terminal record older than the watch', async () => {
    const old = await track({ status: 'failed' });
    const got: string[] = [];
    watch.watch(name, '2026-03-01T11:00:00.000Z', (_n, r) => got.push(r.status));
    ctx.events.emit('finished', name, old);
    expect(got).toEqual([]);
    const unwatch = watch.watch(name, old.updated_at, () => undefined);
    unwatch();
    expect(watch.size).toBe(1);
  });
});
