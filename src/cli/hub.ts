import type { Command } from 'commander';
import { DEFAULT_HUB_PORT, hubPort, positiveInt } from './options.js';
import type { ServeOptions } from './actions/hub.js';
import { registerHubToken } from './hub-token.js';

/** Registers `agentic hub` (serve the fleet hub, the default) and `agentic hub token …`. */
export function registerHub(program: Command): void {
  const hub = program
    .command('hub')
    .description('run the fleet hub that nodes push dispatch history to');

  hub
    .command('serve', { isDefault: true })
    .description('serve the hub API and dashboard in the foreground until SIGINT/SIGTERM')
    .option('--port <port>', `TCP port; 0 picks a free one (default: ${DEFAULT_HUB_PORT})`, hubPort)
    .option('--host <address>', 'interface to bind (default: 127.0.0.1, loopback only)')
    .option('--allow-remote', 'allow a --host other machines can reach (tokens still apply)')
    .option('--db <path|url>', 'SQLite file or postgres:// URL (default: <CoreRoot>/hub.sqlite)')
    .option('--max-body-bytes <n>', 'larger request bodies get 413 (default: 10 MiB)', positiveInt)
    .option(
      '--shutdown-timeout <seconds>',
      'grace for in-flight requests on shutdown (default: 10)',
      positiveInt,
    )
    .option('--json', 'print one JSON document {url, host, port, db} once listening')
    .action(async (raw: Partial<ServeOptions>, cmd: Command) =>
      (await import('./actions/hub.js')).serve(raw, cmd),
    );

  registerHubToken(hub);
}
