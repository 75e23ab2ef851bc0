import type { Command } from 'commander';

/** Registers `agentic mcp`: the MCP server on stdio (for `claude mcp add agentic -- agentic mcp`). */
export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description(
      'serve the MCP tools on stdin/stdout for a lead agent; runs an embedded runner unless one already holds the lease',
    )
    .action(async (_opts: unknown, cmd: Command) =>
      (await import('./actions/mcp.js')).mcp(_opts, cmd),
    );
}
