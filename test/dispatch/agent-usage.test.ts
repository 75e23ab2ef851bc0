import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accountRun, markRunLog, readRunReport } from '../../src/dispatch/agent-usage.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A workspace whose agent log already holds `earlier` and then gets `lines` as run `run`. */
function workspaceWithRun(
  pool: string,
  lines: unknown[],
  earlier: unknown[] = [],
  run = 2,
): string {
  const ws = mkdtempSync(join(tmpdir(), 'agentic-usage-'));
  dirs.push(ws);
  mkdirSync(join(ws, '.meta'));
  const log = join(ws, '.meta', `agent-${pool}.log`);
  const text = (ls: unknown[]): string =>
    ls.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
  writeFileSync(log, earlier.length ? text(earlier) : '');
  markRunLog(ws, log, run);
  appendFileSync(log, text(lines));
  return ws;
}

const claudeResult = (input: number, output: number, cost: number): unknown => ({
  type: 'result',
  subtype: 'success',
  session_id: 's-1',
  total_cost_usd: cost,
  usage: {
    input_tokens: input,
    cache_creation_input_tokens: 5,
    cache_read_input_tokens: 7,
    output_tokens: output,
  },
});

describe("reading a run's usage and conversation id from its CLI's events", () => {
  it("reads claude's init session and result usage from this run's part of the log only", () => {
    const ws = workspaceWithRun(
      'claude',
      [
        { type: 'system', subtype: 'init', session_id: 'sess-new' },
        'a stderr line, not JSON',
        claudeResult(240, 60, 0.00162),
      ],
      [{ type: 'system', subtype: 'init', session_id: 'sess-old' }, claudeResult(999, 999, 9)],
    );
    expect(readRunReport(ws)).toEqual({
      run: 2,
      sessionId: 'sess-new',
      reported: {
        input_tokens: 252,
        output_tokens: 60,
        cost_usd: 0.00162,
        cumulative: { tokens: false, cost: true },
      },
    });
  });

  it("takes codex's last turn.completed (it counts the whole thread) and its thread id", () => {
    const ws = workspaceWithRun('codex', [
      { type: 'thread.started', thread_id: '01a2-thread' },
      { type: 'turn.completed', usage: { input_tokens: 100, output_tokens: 20 } },
      {
        type: 'turn.completed',
        usage: { input_tokens: 200, cached_input_tokens: 0, output_tokens: 40 },
      },
    ]);
    expect(readRunReport(ws)).toMatchObject({
      sessionId: '01a2-thread',
      reported: { input_tokens: 200, output_tokens: 40, cumulative: { tokens: true, cost: false } },
    });
    expect(readRunReport(ws)?.reported).not.toHaveProperty('cost_usd');
  });

  it("sums gemini's result stats and opencode's step_finish tokens and costs", () => {
    const gemini = workspaceWithRun('gemini', [
      { type: 'init', session_id: 'g-1', model: 'gemini-2.5-flash' },
      { type: 'result', status: 'success', stats: { input_tokens: 200, output_tokens: 40 } },
    ]);
    expect(readRunReport(gemini)).toMatchObject({
      sessionId: 'g-1',
      reported: { input_tokens: 200, output_tokens: 40 },
    });
    const step = (cost: number): unknown => ({
      type: 'step_finish',
      sessionID: 'ses_1',
      part: { tokens: { input: 100, output: 20, cache: { read: 3, write: 2 } }, cost },
    });
    const opencode = workspaceWithRun('opencode', [step(0.5), step(0.25)]);
    expect(readRunReport(opencode)).toMatchObject({
      sessionId: 'ses_1',
      reported: { input_tokens: 210, output_tokens: 40, cost_usd: 0.75 },
    });
  });

  it('ignores bad or missing values instead of failing', () => {
    const ws = workspaceWithRun('claude', [
      '{"type":"result","usage":"lots","total_cost_usd":-3}',
      '{"type":"result"',
      { type: 'result', usage: { input_tokens: -1, output_tokens: 'x' }, total_cost_usd: 'free' },
      { type: 'system', subtype: 'init', session_id: 42 },
    ]);
    expect(readRunReport(ws)).toEqual({
      run: 2,
      sessionId: undefined,
      reported: { input_tokens: 0, output_tokens: 0, cumulative: { tokens: false, cost: true } },
    });
    const custom = workspaceWithRun('mybot', [claudeResult(1, 1, 1)]);
    expect(readRunReport(custom)).toMatchObject({ sessionId: undefined, reported: undefined });
    const unmarked = mkdtempSync(join(tmpdir(), 'agentic-usage-'));
    dirs.push(unmarked);
    expect(readRunReport(unmarked)).toBeUndefined();
  });
});

describe('adding a run to the workspace total', () => {
  const claude = { input_tokens: 120, output_tokens: 30, cost_usd: 0.00243 };
  const cumulative = { tokens: false, cost: true };

  it('adds a fresh run as reported and starts the conversation total', () => {
    expect(
      accountRun(
        { input_tokens: 1000, output_tokens: 100, cost_usd: 1 },
        undefined,
        { sessionId: 's', reported: { ...claude, cumulative } },
        false,
      ),
    ).toEqual({
      session_id: 's',
      usage: { input_tokens: 1120, output_tokens: 130, cost_usd: 1.00243 },
      session_usage: claude,
    });
  });

  it("takes a resumed conversation's earlier total off the figures the CLI reports cumulatively", () => {
    const before = { input_tokens: 240, output_tokens: 60, cost_usd: 0.00162 };
    const patch = accountRun(
      before,
      before,
      { sessionId: 's', reported: { ...claude, cumulative } },
      true,
    );
    expect(patch.usage).toEqual({ input_tokens: 360, output_tokens: 90, cost_usd: 0.00243 });
    expect(patch.session_usage).toEqual(patch.usage);
    const codex = accountRun(
      { input_tokens: 200, output_tokens: 40 },
      { input_tokens: 200, output_tokens: 40 },
      {
        sessionId: 't',
        reported: {
          input_tokens: 300,
          output_tokens: 60,
          cumulative: { tokens: true, cost: false },
        },
      },
      true,
    );
    expect(codex.usage).toEqual({ input_tokens: 300, output_tokens: 60 });
  });

  it('sets only the session id when the CLI reported no usage', () => {
    expect(
      accountRun(undefined, undefined, { sessionId: 'x', reported: undefined }, false),
    ).toEqual({
      session_id: 'x',
    });
  });
});
