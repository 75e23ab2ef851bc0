import { writeSync } from 'node:fs';
import { destination, pino, type DestinationStream, type Logger } from 'pino';
import { printable } from './text.js';

export type { Logger };

/**
 * Creates the process logger on stderr (never stdout, which carries command output or MCP
 * frames): one readable line per entry when stderr is a terminal (`pretty` defaults to that),
 * JSON lines otherwise, for log collectors.
 */
export function createLogger(
  level: string,
  name = 'agentic',
  pretty = process.stderr.isTTY === true,
): Logger {
  const out: DestinationStream = pretty
    ? { write: (line: string) => void writeSync(2, prettyLine(line)) }
    : destination({ fd: 2, sync: true });
  return pino({ name, level, base: { pid: process.pid } }, out);
}

/** A logger that discards everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component']);

/**
 * One pino JSON line as a person reads it: `12:00:01.234 INFO  [hub] request method=GET
 * status=200`. Text from agents can reach log fields, so escape sequences are removed.
 */
export function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof entry['time'] === 'number' ? new Date(entry['time']) : new Date();
  const level = LEVELS[Number(entry['level'])] ?? String(entry['level']);
  const component = typeof entry['component'] === 'string' ? ` [${entry['component']}]` : '';
  const fields = Object.entries(entry)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const text = [String(entry['msg'] ?? ''), ...fields].join(' ');
  return `${time.toISOString().slice(11, 23)} ${level}${component} ${printable(text)}\n`;
}
