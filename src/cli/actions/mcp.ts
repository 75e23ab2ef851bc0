import { type Command } from 'commander';
import { serveStdio } from '../../mcp/index.js';
import { runVerb } from './run-verb.js';

/** Runs `mcp`. */
export async function mcp(_opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, (ctx) => serveStdio(ctx));
}
