import { z } from 'zod';
import { detectUsageLimit, type UsageLimit } from './usage-limit.js';

/** What an agent CLI itself said about how its run went, read from its log. */
export interface AgentReport {
  /** The CLI's own error messages, oldest first (its error events and its non-JSON lines that read as errors). */
  errors: string[];
  /** A usage or rate limit found in those messages (never in a tool's output). */
  limit: UsageLimit | undefined;
  /** A tool call the CLI's permission rules refused (OpenCode still exits 0 then). */
  refusal: string | undefined;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007]*(?:\u0007|\u001b\\)/g;

/** Removes ANSI colour and cursor sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

const event = z.looseObject({ type: z.string() });
type Event = z.infer<typeof event>;

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
const field = (v: unknown, key: string): unknown =>
  v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;

/**
 * The error message a JSON event carries when it is one of the CLI's own error or failed-result
 * events (claude's `result` with `is_error` and API-error `assistant` messages; codex's `error`
 * and `turn.failed`; gemini's `result` with status `error`; opencode's `error`). Tool output and
 * conversation events give undefined: an agent's tool printing "429" is not the CLI's error.
 */
function eventError(e: Event): string | undefined {
  switch (e.type) {
    case 'result':
      if (e['is_error'] === true) return text(e['result']) ?? text(e['error']) ?? 'error result';
      if (e['status'] === 'error') return text(field(e['error'], 'message')) ?? 'error result';
      return undefined;
    case 'assistant': {
      if (e['is_api_error_message'] !== true && e['error'] === undefined) return undefined;
      const content = field(e['message'], 'content');
      const first = Array.isArray(content) ? (content[0] as unknown) : undefined;
      return text(field(first, 'text')) ?? text(e['error']);
    }
    case 'error': {
      const err = e['error'];
      const message =
        text(e['message']) ??
        text(field(field(err, 'data'), 'message')) ??
        text(field(err, 'message')) ??
        text(field(err, 'name'));
      const status = field(field(err, 'data'), 'statusCode');
      return message && typeof status === 'number' ? `${message} (HTTP ${status})` : message;
    }
    case 'turn.failed':
      return text(field(e['error'], 'message'));
    default:
      return undefined;
  }
}

const REFUSED =
  /(prevents you from using this specific tool call|rejected permission to use this specific tool call|permission (?:was )?denied)/i;

/** OpenCode's refused tool call: a `tool_use` event whose state is an error from its permission rules. */
function eventRefusal(e: Event): string | undefined {
  if (e.type !== 'tool_use') return undefined;
  const part = e['part'];
  const state = field(part, 'state');
  const error = text(field(state, 'error'));
  if (field(state, 'status') !== 'error' || error === undefined || !REFUSED.test(error))
    return undefined;
  const tool = text(field(part, 'tool')) ?? 'tool';
  const input = field(state, 'input');
  const target = text(field(input, 'filePath')) ?? text(field(input, 'file_path'));
  return `${tool}${target ? ` ${target}` : ''}: ${error.split('. Here are')[0] ?? error}`;
}

const ERROR_LIKE =
  /(error|cannot|can't|could not|refus|denied|invalid|not (?:running|trusted|found|logged|allowed|authori)|fail|unauthori[sz]ed|forbidden|quota|limit|ECONN|ENOTFOUND|ETIMEDOUT|EAI_AGAIN)/i;
/** Lines CLIs print on every run that carry no cause. */
const NOISE = /^(warning:|yolo mode is enabled|ripgrep is not available|approval mode overridden)/i;

/**
 * Reads the tail of an agent's log and keeps only what the CLI itself said: its error events
 * (JSON lines) and its plain-text lines (stack frames and routine banners dropped). A partial
 * first line (the tail cut a line) is skipped. Then looks for a usage limit in that text only.
 */
export function readAgentReport(log: string, now: Date, partialFirstLine = false): AgentReport {
  const lines = stripAnsi(log).split('\n');
  if (partialFirstLine) lines.shift();
  const errors: string[] = [];
  const plain: string[] = [];
  let refusal: string | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      const e = event.safeParse(parsed);
      if (e.success) {
        const message = eventError(e.data);
        if (message !== undefined && errors.at(-1) !== message) errors.push(message);
        refusal = eventRefusal(e.data) ?? refusal;
        continue;
      }
      if (parsed !== undefined) continue;
    }
    if (/^at\s/.test(line) || NOISE.test(line)) continue;
    plain.push(line);
  }
  const plainErrors = plain.filter((l) => ERROR_LIKE.test(l));
  const all = [...plainErrors, ...errors];
  return {
    errors: errors.length > 0 ? errors : plainErrors.length > 0 ? plainErrors : plain.slice(-1),
    limit: detectUsageLimit(all.join('\n') || plain.join('\n'), now),
    refusal,
  };
}

/** Known refusals and failures, mapped to what the operator can do about them. */
const HINTS: ReadonlyArray<{ test: RegExp; hint: (pool: string) => string }> = [
  {
    test: /root\/sudo privileges/i,
    hint: (pool) =>
      `claude refuses --dangerously-skip-permissions as root: set agents.${pool}.env.IS_SANDBOX: "1" in agents.yaml (only where an agent may act as root), or run agentic as another user`,
  },
  {
    test: /not running in a trusted (?:directory|folder)|folder is not trusted|untrusted (?:folder|workspace|directory)/i,
    hint: (pool) =>
      `the CLI does not trust the workspace folder: keep --skip-trust on ${pool}'s command line or set agents.${pool}.env.GEMINI_CLI_TRUST_WORKSPACE: "true"`,
  },
  {
    test: /(invalid api key|incorrect api key|api key not valid|authentication|unauthori[sz]ed|\b401\b|not logged in|please (?:run )?(?:\/)?login|invalid x-api-key|auth method)/i,
    hint: (pool) =>
      `authentication failed: log the ${pool} CLI in for the user agentic runs as, or give it a key under agents.${pool}.env`,
  },
  {
    test: /(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|fetch failed|connection refused|error sending request|network error|unable to connect)/i,
    hint: () => 'network error: the model API could not be reached from this machine',
  },
];

/** A hint for a failure's cause, when the cause is a known refusal or failure. */
export function hintFor(pool: string, cause: string): string | undefined {
  return HINTS.find((h) => h.test.test(cause))?.hint(pool);
}
