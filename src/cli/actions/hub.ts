import { type Command } from 'commander';
import type { AppContext } from '../../context.js';
import { redactUrl } from '../../lib/text.js';
import { isLoopback } from '../../mcp/http-options.js';
import { runVerb, usage, writeJson } from './run-verb.js';
import { DEFAULT_HUB_PORT } from '../options.js';
import { hubDb } from './hub-token.js';

/** Runs `serve`. */
export async function serve(raw: Partial<ServeOptions>, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const opts: ServeOptions = {
      port: raw.port ?? DEFAULT_HUB_PORT,
      host: raw.host ?? '127.0.0.1',
      allowRemote: raw.allowRemote === true,
      shutdownTimeout: raw.shutdownTimeout ?? 10,
      ...(raw.db !== undefined ? { db: raw.db } : {}),
      ...(raw.maxBodyBytes !== undefined ? { maxBodyBytes: raw.maxBodyBytes } : {}),
    };
    return serveHub(ctx, opts, common.json === true);
  });
}

export interface ServeOptions {
  port: number;
  host: string;
  allowRemote: boolean;
  db?: string;
  maxBodyBytes?: number;
  shutdownTimeout: number;
}

async function serveHub(ctx: AppContext, opts: ServeOptions, json: boolean): Promise<void> {
  // Same rule as the MCP endpoint: reachable from other machines only when the operator says so.
  if (!isLoopback(opts.host) && !opts.allowRemote)
    usage(
      'host',
      `host ${opts.host} is reachable from other machines; add --allow-remote to confirm (every request still needs a token; put TLS in front)`,
    );
  const { openHubStorage, startHubServer } = await import('../../hub/index.js');
  // The dashboard's Fleet view shows what `fleet nodes` computes (the hub sits below src/fleet/).
  const { fleetState } = await import('../../fleet/index.js');
  const db = hubDb(ctx, opts.db);
  const logger = ctx.logger.child({ component: 'hub' });
  const storage = await openHubStorage(db, { logger, now: () => ctx.clock.now() });
  try {
    const hub = await startHubServer({
      storage,
      clock: ctx.clock,
      logger,
      fleetReader: fleetState,
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
