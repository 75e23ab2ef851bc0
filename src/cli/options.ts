// What the command declarations need: exit codes and commander's argument parsers. Nothing here
// loads the store, config or output libraries, so `agentic --version` stays cheap.
import { createRequire } from 'node:module';
import type * as Commander from 'commander';
import { AgenticError } from '../lib/errors.js';

/**
 * commander, required as the CommonJS package it is: that skips the ESM wrapper, whose scan of the
 * package's exports is a measurable part of the CLI's start-up (bench/cli-start.ts).
 */
export const commander = createRequire(import.meta.url)('commander') as typeof Commander;
const { InvalidArgumentError } = commander;

/** Exit codes of the CLI: 0 ok, 1 failed, 2 usage or bad input. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Process exit code set by the last verb (commander actions cannot return one). */
export const cliState = { exitCode: EXIT.ok as number };

/** Commander argument parser for a positive integer. */
export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('expected a positive integer');
  }
  return Number(value);
}

/** Commander argument parser for an integer (may be negative). */
export function integer(value: string): number {
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError('expected an integer');
  return Number(value);
}

/** Commander argument parser for one of a fixed set of values. */
export function oneOf<T extends string>(values: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(values as readonly string[]).includes(value))
      throw new InvalidArgumentError(`expected one of: ${values.join(', ')}`);
    return value as T;
  };
}

/** Commander argument parser for a TCP port, 0 (any free port) to 65535. */
export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535)
    throw new InvalidArgumentError('expected a port, 0 to 65535');
  return n;
}

/** Throws a usage error naming a field. */
export function usage(field: string, message: string): never {
  throw new AgenticError('USAGE', message, { field });
}

/** Default port of `agentic hub`. */
export const DEFAULT_HUB_PORT = 7420;

/** Commander argument parser for the hub's TCP port, 0 (any free port) to 65535. */
export function hubPort(value: string): number {
  const n = integer(value);
  if (n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

/** Parses an age like `7d`, `12h`, `30m` or `45s` into milliseconds. */
export function parseAge(value: string): number {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a number and a unit: 30m, 12h, 7d');
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
