import { InvalidArgumentError, type Command } from 'commander';
import { serveStdio } from '../mcp/index.js';
import { runVerb } from './common.js';

/** Commander argument parser for a TCP port, 0 (any free port) to 65535. */
export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535)
    throw new InvalidArgumentError('expected a port, 0 to 65535');
  return n;
}

/** Registers `agentic mcp`: the MCP server on stdio (for `claude mcp add agentic -- agentic mcp`). */
export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description(
      'serve the MCP tools on stdin/stdout for a lead agent; runs an embedded runner unless one already holds the lease',
    )
    .action(async (_opts: unknown, cmd: Command) => runVerb(cmd, (ctx) => serveStdio(ctx)));
}
