import { stripAnsi } from './agent-output.js';

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const short = (text: string, max = 120): string => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** A tool call's most telling argument (a path, a command, a pattern), for one line. */
function argOf(input: unknown): string {
  const i = obj(input);
  if (!i) return '';
  for (const key of [
    'file_path',
    'filePath',
    'path',
    'command',
    'cmd',
    'pattern',
    'url',
    'query',
  ]) {
    const v = i[key];
    if (typeof v === 'string') return short(v, 100);
    if (Array.isArray(v)) return short(v.join(' '), 100);
  }
  return short(JSON.stringify(i), 100);
}

/**
 * One line of an agent's log as transcript lines: assistant text, each tool call on one line
 * (`→ Write out.txt`), tool results shortened (`←`), errors, and the final result with its usage
 * and cost. Understands claude's stream-json, codex's `exec --json` events, gemini's stream-json
 * and opencode's JSON events; other lines pass through with ANSI colour removed.
 */
export function renderLogLine(line: string): string[] {
  const clean = stripAnsi(line).trimEnd();
  if (!clean.startsWith('{')) return clean === '' ? [] : [clean];
  let e: Json | undefined;
  try {
    e = obj(JSON.parse(clean));
  } catch {
    return [clean];
  }
  if (!e) return [clean];
  const type = str(e['type']);
  const part = obj(e['part']);
  const item = obj(e['item']);
  switch (type) {
    case 'system':
      return e['subtype'] === 'init'
        ? [`— session ${str(e['session_id']) ?? '?'} (${str(e['model']) ?? 'model ?'})`]
        : e['subtype'] === 'api_retry'
          ? [`— API retry ${String(e['attempt'])}: ${str(e['error']) ?? ''}`]
          : [];
    case 'init':
      return [`— session ${str(e['session_id']) ?? '?'} (${str(e['model']) ?? 'model ?'})`];
    case 'assistant':
    case 'user': {
      const content = obj(e['message'])?.['content'];
      if (!Array.isArray(content)) return [];
      return content.flatMap((c: unknown): string[] => {
        const b = obj(c);
        if (b?.['type'] === 'text') return (str(b['text']) ?? '').split('\n').filter(Boolean);
        if (b?.['type'] === 'tool_use')
          return [`→ ${str(b['name']) ?? 'tool'} ${argOf(b['input'])}`];
        if (b?.['type'] === 'tool_result') {
          const out = b['content'];
          const text = typeof out === 'string' ? out : JSON.stringify(out ?? '');
          return [`  ← ${b['is_error'] === true ? 'error: ' : ''}${short(text)}`];
        }
        return [];
      });
    }
    case 'message':
      return e['role'] === 'assistant' ? [str(e['content']) ?? ''].filter(Boolean) : [];
    case 'tool_use':
      if (part) {
        const state = obj(part['state']);
        const status = str(state?.['status']);
        return [
          `→ ${str(part['tool']) ?? 'tool'} ${argOf(state?.['input'])}${status === 'error' ? ` (refused/failed: ${short(str(state?.['error']) ?? '', 100)})` : ''}`,
        ];
      }
      return [`→ ${str(e['tool_name']) ?? 'tool'} ${argOf(e['parameters'])}`];
    case 'tool_result':
      return [`  ← ${str(e['status']) ?? ''}`];
    case 'text':
      return (str(part?.['text']) ?? '').split('\n').filter(Boolean);
    case 'item.completed':
      if (item?.['type'] === 'agent_message') return [str(item['text']) ?? ''];
      if (item?.['type'] === 'file_change') {
        const changes = Array.isArray(item['changes']) ? item['changes'] : [];
        return changes.map(
          (c: unknown) => `→ ${str(obj(c)?.['kind']) ?? 'edit'} ${str(obj(c)?.['path']) ?? ''}`,
        );
      }
      if (item?.['type'] === 'command_execution') return [`→ $ ${str(item['command']) ?? ''}`];
      if (item?.['type'] === 'error') return [`warning: ${str(item['message']) ?? ''}`];
      return [];
    case 'error':
      return [
        `error: ${str(e['message']) ?? str(obj(obj(e['error'])?.['data'])?.['message']) ?? short(JSON.stringify(e['error'] ?? ''))}`,
      ];
    case 'turn.failed':
      return [`failed: ${str(obj(e['error'])?.['message']) ?? ''}`];
    case 'turn.completed':
      return [`— usage: ${short(JSON.stringify(e['usage'] ?? {}))}`];
    case 'result': {
      const usage = obj(e['usage']) ?? obj(e['stats']);
      const tokens = usage
        ? ` · tokens in ${String(usage['input_tokens'] ?? '?')} out ${String(usage['output_tokens'] ?? '?')}`
        : '';
      const cost =
        typeof e['total_cost_usd'] === 'number' ? ` · $${e['total_cost_usd'].toFixed(4)}` : '';
      const failed = e['is_error'] === true || e['status'] === 'error';
      const text = str(e['result']) ?? str(obj(e['error'])?.['message']) ?? '';
      return [
        `= ${failed ? 'failed' : 'done'}${tokens}${cost}${text ? `: ${short(text, 200)}` : ''}`,
      ];
    }
    default:
      return [];
  }
}
