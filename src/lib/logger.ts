import { destination, pino, type Logger } from 'pino';

export type { Logger };

/** Creates the process logger: JSON lines on stderr (never stdout, which carries command output or MCP frames). */
export function createLogger(level: string, name = 'agentic'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, destination({ fd: 2, sync: true }));
}

/** A logger that discards everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
