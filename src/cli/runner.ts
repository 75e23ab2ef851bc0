import type { Command } from 'commander';
import { port, positiveInt } from './options.js';
import type { McpHttpFlags } from '../mcp/index.js';

/** Registers daemon, start, stop, kill and watch. */
export function registerRunner(program: Command): void {
  program
    .command('daemon')
    .description(
      'run the runner in the foreground (claims queued work, watches agents); SIGTERM stops it and leaves agents running',
    )
    // MCP over streamable HTTP beside the runner (issue 6); see src/mcp/http.ts.
    .option('--mcp-port <port>', 'also serve the MCP tools over HTTP on this port (0 = any)', port)
    .option('--mcp-host <host>', 'interface for --mcp-port (default 127.0.0.1)')
    .option(
      '--mcp-token <token>',
      'bearer token for --mcp-port; visible in ps, so prefer --mcp-token-file or $CORE_AGENT_MCP_TOKEN (default: <CoreRoot>/mcp.token)',
    )
    .option('--mcp-token-file <path>', 'read the bearer token for --mcp-port from this file')
    .option('--mcp-allow-remote', 'allow a --mcp-host other machines can reach')
    .option('--mcp-max-sessions <n>', 'most MCP HTTP sessions at once (default 100)', positiveInt)
    .option(
      '--mcp-idle-minutes <n>',
      'close an MCP HTTP session idle this long (default 5)',
      positiveInt,
    )
    .action(async (opts: McpHttpFlags, cmd: Command) =>
      (await import('./actions/runner.js')).daemon(opts, cmd),
    );

  program
    .command('stop')
    .description('freeze dispatching: running agents continue, nothing new starts')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      (await import('./actions/runner.js')).stop(_opts, cmd),
    );

  program
    .command('start')
    .description('unfreeze dispatching and clear paused pools')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      (await import('./actions/runner.js')).start(_opts, cmd),
    );

  program
    .command('kill')
    .description(
      'freeze, terminate running agents (failed "killed by operator") and cancel queued work',
    )
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      (await import('./actions/runner.js')).kill(_opts, cmd),
    );

  program
    .command('watch')
    .description('a live view of all workspaces; q or Ctrl-C quits')
    .option('--once', 'print one frame and exit')
    .option('--interval <ms>', 'refresh interval', (v) => Number(v), 1000)
    .action(async (opts: { once?: boolean; interval: number }, cmd: Command) =>
      (await import('./actions/runner.js')).watch(opts, cmd),
    );
}
