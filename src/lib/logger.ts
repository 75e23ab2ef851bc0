import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
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
  return lazyLogger(level, () => {
    const { destination, pino } = loadPino();
    const out: DestinationStream = pretty
      ? { write: (line: string) => void writeSync(2, prettyLine(line)) }
      : destination({ fd: 2, sync: true });
    return pino({ name, level, base: { pid: process.pid } }, out);
  });
}

/** A logger that discards everything; for tests and library use. */
export function silentLogger(): Logger {
  return lazyLogger('silent', () => loadPino().pino({ level: 'silent' }));
}

/** pino, loaded on first use: `require` keeps logger creation synchronous. */
function loadPino(): typeof Pino {
  pinoModule ??= createRequire(import.meta.url)('pino') as typeof Pino;
  return pinoModule;
}
let pinoModule: typeof Pino | undefined;

/**
 * A logger that builds pino (and loads it) at the first line its level lets through, or at the
 * first use of anything but a log method: a short command that logs nothing never loads it.
 */
function lazyLogger(level: string, build: () => Logger): Logger {
  let real: Logger | undefined;
  const threshold = LEVEL_VALUES.get(level) ?? 0;
  const quiet = (): void => undefined;
  const target = (): Logger => (real ??= build());
  // Methods bound once: the runner logs on its hot paths, and a bind per call is garbage.
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy({} as Logger, {
    get(_, prop) {
      if (real === undefined) {
        const value = typeof prop === 'string' ? LEVEL_VALUES.get(prop) : undefined;
        if (value !== undefined && value < threshold) return quiet;
      }
      const logger = target();
      const v: unknown = Reflect.get(logger, prop, logger);
      if (typeof v !== 'function') return v;
      let method = bound.get(prop);
      if (method === undefined) {
        method = (v as (...a: unknown[]) => unknown).bind(logger);
        bound.set(prop, method);
      }
      return method;
    },
    set(_, prop, v) {
      // Setting `level` makes pino swap its log methods: bind them again.
      bound.clear();
      return Reflect.set(target(), prop, v);
    },
    has(_, prop) {
      return Reflect.has(target(), prop);
    },
  });
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/** pino's value of each level name (`info` → 30), read off the table above; `silent` is Infinity. */
const LEVEL_VALUES = new Map<string, number>([
  ...Object.entries(LEVELS).map(([value, label]): [string, number] => [
    label.trim().toLowerCase(),
    Number(value),
  ]),
  ['silent', Infinity],
]);
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
