import { describe, expect, it } from 'vitest';
import { hintFor, readAgentReport, stripAnsi } from '../../src/dispatch/agent-output.js';
import { detectUsageLimit } from '../../src/dispatch/usage-limit.js';

const now = new Date('2026-12-07T03:00:00.000Z');
const jsonl = (...events: unknown[]): string => events.map((e) => JSON.stringify(e)).join('\n');

describe('usage limits in what a CLI said', () => {
  it('parses compound durations like 20h13m4s as a quota', () => {
    const limit = detectUsageLimit("You've hit your usage limit. Try again in 20h13m4s.", now);
    expect(limit).toEqual({
      kind: 'quota',
      resetAt: new Date(now.getTime() + (20 * 3600 + 13 * 60 + 4) * 1000),
      stated: true,
    });
  });

  it('tells a rate limit of seconds from a quota of hours', () => {
    expect(detectUsageLimit('429 Too Many Requests: rate limit, retry in 30s', now)).toMatchObject({
      kind: 'rate',
      resetAt: new Date(now.getTime() + 30_000),
    });
    expect(
      detectUsageLimit('You exceeded your current quota. Please retry in 12300s.', now),
    ).toMatchObject({ kind: 'quota', resetAt: new Date(now.getTime() + 12_300_000) });
  });

  it('recognises OpenAI quota messages without a time and backs off an hour', () => {
    expect(
      detectUsageLimit(
        'You exceeded your current quota, please check your plan and billing details.',
        now,
      ),
    ).toEqual({ kind: 'quota', resetAt: new Date(now.getTime() + 3_600_000), stated: false });
  });

  it('reads reset epochs, ISO timestamps and clock times', () => {
    const epoch = Math.floor(now.getTime() / 1000) + 7200;
    expect(detectUsageLimit(`Claude AI usage limit reached|${epoch}`, now)?.resetAt).toEqual(
      new Date(epoch * 1000),
    );
    expect(
      detectUsageLimit('usage limit reached, resets at 2026-12-07T09:30:00Z', now)?.resetAt,
    ).toEqual(new Date('2026-12-07T09:30:00Z'));
    const clock = detectUsageLimit("You've hit your usage limit … or try again at 11:40 PM.", now);
    expect(clock?.resetAt.getHours()).toBe(23);
    expect(clock?.resetAt.getMinutes()).toBe(40);
    expect(clock?.resetAt.getTime()).toBeGreaterThan(now.getTime());
  });

  it('reads a dated reset more than a day away, as codex prints it', () => {
    const limit = detectUsageLimit(
      "You've hit your usage limit. Upgrade to Pro or try again at Dec 8th, 2026 12:24 AM.",
      now,
    );
    expect(limit?.resetAt).toEqual(new Date(2026, 11, 8, 0, 24));
    expect(limit?.kind).toBe('quota');
  });

  it('finds nothing in an ordinary failure', () => {
    expect(detectUsageLimit('error: cannot find module foo', now)).toBeUndefined();
  });
});

describe('the CLI own error output', () => {
  it('ignores a tool that printed 429 Too Many Requests and keeps the CLI error', () => {
    const log = jsonl(
      { type: 'system', subtype: 'init', session_id: 's' },
      {
        type: 'user',
        message: {
          content: [{ type: 'tool_result', content: 'curl: HTTP 429 Too Many Requests quota' }],
        },
      },
      { type: 'result', is_error: true, result: 'Test suite failed: 3 errors' },
    );
    const report = readAgentReport(log, now);
    expect(report.limit).toBeUndefined();
    expect(report.errors).toEqual(['Test suite failed: 3 errors']);
  });

  it('reads claude API errors, codex error events, gemini and opencode results', () => {
    expect(
      readAgentReport(
        jsonl({
          type: 'result',
          is_error: true,
          api_error_status: 429,
          result: 'API Error: Request rejected (429) · This request would exceed your rate limit.',
        }),
        now,
      ).limit,
    ).toMatchObject({ kind: 'rate', stated: false });
    const codex = readAgentReport(
      jsonl(
        { type: 'turn.started' },
        { type: 'error', message: 'Quota exceeded. Check your plan and billing details.' },
        {
          type: 'turn.failed',
          error: { message: 'Quota exceeded. Check your plan and billing details.' },
        },
      ),
      now,
    );
    expect(codex.errors).toEqual(['Quota exceeded. Check your plan and billing details.']);
    expect(codex.limit?.kind).toBe('quota');
    const opencode = readAgentReport(
      jsonl({
        type: 'error',
        error: {
          name: 'APIError',
          data: { message: 'Incorrect API key provided', statusCode: 401 },
        },
      }),
      now,
    );
    expect(opencode.errors).toEqual(['Incorrect API key provided (HTTP 401)']);
  });

  it('keeps plain-text error lines, strips ANSI and drops banners and stack frames', () => {
    const log = [
      'YOLO mode is enabled. All tool calls will be automatically approved.',
      '\u001b[31mGemini CLI is not running in a trusted directory. To proceed, use `--skip-trust`\u001b[0m',
      '    at main (file:///x.js:1:1)',
    ].join('\n');
    const report = readAgentReport(log, now);
    expect(report.errors).toEqual([
      'Gemini CLI is not running in a trusted directory. To proceed, use `--skip-trust`',
    ]);
    expect(hintFor('gemini', report.errors.join('\n'))).toMatch(/GEMINI_CLI_TRUST_WORKSPACE/);
  });

  it('maps known refusals to a hint', () => {
    expect(
      hintFor(
        'claude',
        '--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons',
      ),
    ).toMatch(/agents\.claude\.env\.IS_SANDBOX: "1"/);
    expect(hintFor('codex', 'unexpected status 401 Unauthorized: Incorrect API key')).toMatch(
      /authentication failed/,
    );
    expect(hintFor('claude', 'API Error: Unable to connect: ECONNREFUSED')).toMatch(/network/);
    expect(hintFor('claude', 'the tests failed')).toBeUndefined();
  });

  it('finds an edit refused by opencode permission rules', () => {
    const log = jsonl({
      type: 'tool_use',
      part: {
        tool: 'write',
        state: {
          status: 'error',
          input: { filePath: 'out.txt' },
          error:
            'The user has specified a rule which prevents you from using this specific tool call. Here are some of the relevant rules [...]',
        },
      },
    });
    expect(readAgentReport(log, now).refusal).toBe(
      'write out.txt: The user has specified a rule which prevents you from using this specific tool call',
    );
  });

  it('strips colour sequences', () => {
    expect(stripAnsi('\u001b[1;32mok\u001b[0m')).toBe('ok');
  });
});
