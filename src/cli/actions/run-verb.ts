// What every verb's action uses: a context per run, one error mapping, JSON and table output.
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createAppContext } from '../../compose.js';
import { type AppContext } from '../../context.js';
import { AgenticError, toAgenticError } from '../../lib/errors.js';
import { printable } from '../../lib/text.js';
import { cliState, EXIT } from '../options.js';

export { EXIT, usage } from '../options.js';

/** Options every verb accepts (global ones included). */
export interface CommonOptions {
  json?: boolean;
  config?: string;
  logLevel?: string;
}

/**
 * Runs a verb with a fresh context: loads config from the global flags, closes the store after,
 * and maps any error to the exit code and message (see {@link reportError}). When the store
 * turns out damaged (STORE_CORRUPT) the verb runs once more on the rebuilt store.
 */
export async function runVerb(
  command: Command,
  body: (ctx: AppContext, opts: CommonOptions) => Promise<number | void>,
): Promise<void> {
  const opts = command.optsWithGlobals<CommonOptions>();
  let ctx: AppContext | undefined;
  try {
    const config = await loadConfig({ config: opts.config, logLevel: opts.logLevel });
    ctx = createAppContext({ config });
    let code: number | void;
    try {
      code = await body(ctx, opts);
    } catch (err) {
      if (!(err instanceof AgenticError && err.code === 'STORE_CORRUPT')) throw err;
      // A query found the database damaged and marked it: a fresh context moves it aside,
      // rebuilds it from the workspaces' files, and the verb runs once more on that.
      ctx.logger.warn({ reason: err.message }, 'state store damaged; rebuilding and retrying');
      await ctx.close();
      ctx = createAppContext({ config, logger: ctx.logger });
      code = await body(ctx, opts);
    }
    cliState.exitCode = code ?? EXIT.ok;
  } catch (err) {
    cliState.exitCode = reportError(err, opts.json === true);
  } finally {
    await ctx?.close();
  }
}

/** The one place the CLI maps errors: message on stderr (and a JSON error document with --json), exit 2 for the caller's fault, 1 otherwise. */
export function reportError(err: unknown, json: boolean): number {
  const e = toAgenticError(err);
  process.stderr.write(`agentic: ${e.message}\n`);
  if (e.kind === 'internal' && err instanceof Error && err.stack)
    process.stderr.write(`${err.stack}\n`);
  if (json)
    writeJson({
      error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) },
    });
  return e.kind === 'usage' ? EXIT.usage : EXIT.failed;
}

/** Prints one JSON document on stdout. */
export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints a borderless table on stdout (cli-table3 is loaded only for this). */
export async function writeTable(
  head: string[],
  rows: Array<Array<string | number>>,
): Promise<void> {
  const { default: Table } = await import('cli-table3');
  const table = new Table({
    head,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  // Cells often carry agent-written text: nothing in them may drive the terminal.
  table.push(...rows.map((r) => r.map((cell) => printable(String(cell)).replace(/[\n\t]/g, ' '))));
  process.stdout.write(`${table.toString()}\n`);
}

/** Human age of an RFC 3339 timestamp relative to now: `42s`, `5m`, `3h`, `2d`. */
export function age(iso: string | undefined, now: Date): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Shortens text to one line of at most `max` characters, without escape sequences or control characters. */
export function oneLine(text: string | undefined, max = 60): string {
  if (!text) return '';
  const flat = printable(text.replace(/\s+/g, ' ')).trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
