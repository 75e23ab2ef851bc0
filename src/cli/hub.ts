import { InvalidArgumentError, type Command } from 'commander';
import type { AppContext } from '../context.js';
import { redactUrl } from '../store/index.js';
import { isLoopback } from '../mcp/http-options.js';
import { integer, positiveInt, runVerb, usage, writeJson } from './common.js';
import { hubDb, registerHubToken } from './hub-token.js';

/** Default port of `agentic hub`. */
export const DEFAULT_HUB_PORT = 7420;

interface ServeOptions {
  port: number;
  host: string;
  allowRemote: boolean;
  db?: string;
  maxBodyBytes?: number;
  shutdownTimeout: number;
}

function port(value: string): number {
  const n = integer(value);
  if (n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

/** Registers `agentic hub` (serve the fleet hub, the default) and `agentic hub token …`. */
export function registerHub(program: Command): void {
  const hub = program
    .command('hub')
    .description('run the fleet hub that nodes push dispatch history to');

  hub
    .command('serve', { isDefault: true })
    .description('serve the hub API and dashboard in the foreground until SIGINT/SIGTERM')
    .option('--port <port>', `TCP port; 0 picks a free one (default: ${DEFAULT_HUB_PORT})`, port)
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
      runVerb(cmd, async (ctx, common) => {
        const opts: ServeOptions = {
          port: raw.port ?? DEFAULT_HUB_PORT,
          host: raw.host ?? '127.0.0.1',
          allowRemote: raw.allowRemote === true,
          shutdownTimeout: raw.shutdownTimeout ?? 10,
          ...(raw.db !== undefined ? { db: raw.db } : {}),
          ...(raw.maxBodyBytes !== undefined ? { maxBodyBytes: raw.maxBodyBytes } : {}),
        };
        return serveHub(ctx, opts, common.json === true);
      }),
    );

  registerHubToken(hub);
}

async function serveHub(ctx: AppContext, opts: ServeOptions, json: boolean): Promise<void> {
  // Same rule as the MCP endpoint: reachable from other machines only when the operator says so.
  if (!isLoopback(opts.host) && !opts.allowRemote)
    usage(
      'host',
      `host ${opts.host} is reachable from other machines; add --allow-remote to confirm (every request still needs a token; put TLS in front)`,
    );
  const { openHubStorage, startHubServer } = await import('../hub/index.js');
  const db = hubDb(ctx, opts.db);
  const logger = ctx.logger.child({ component: 'hub' });
  const storage = await openHubStorage(db, { logger, now: () => ctx.clock.now() });
  try {
    const hub = await startHubServer({
      storage,
      clock: ctx.clock,
      logger,
      port: opts.port,
      host: opts.host,
      shutdownTimeoutMs: opts.shutdownTimeout * 1000,
      ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    });
    const shown = storage.engine === 'postgres' ? redactUrl(db) : storage.location;
    process.stderr.write(
      `agentic hub listening on ${hub.url} (${storage.engine} ${shown}); Ctrl-C stops it\n`,
    );
    if (json) writeJson({ url: hub.url, host: hub.host, port: hub.port, db: shown });
    const signal = await firstSignal(['SIGINT', 'SIGTERM']);
    process.stderr.write(`agentic hub: ${signal}, finishing in-flight requests…\n`);
    await hub.close();
    process.stderr.write('agentic hub: stopped\n');
  } finally {
    await storage.close();
  }
}

/** Resolves with the first of `signals`; the handlers are then removed, so a second Ctrl-C ends the process at once. */
function firstSignal(signals: NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      for (const s of signals) process.off(s, on);
      resolve(signal);
    };
    for (const s of signals) process.on(s, on);
  });
}
