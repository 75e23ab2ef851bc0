import { Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { AppContext } from '../context.js';
import { CompletionWatch } from './completion-watch.js';
import { EmbeddedRunner, type EmbeddedRunnerOptions } from './embedded-runner.js';
import { createMcpSession } from './server.js';

/** Options of {@link serveStdio}. */
export interface StdioOptions extends EmbeddedRunnerOptions {
  /** How often watched workspaces are polled for completion, in ms (default 1000). */
  pollMs?: number;
}

/**
 * Reserves stdout for JSON-RPC frames: returns a stream that writes to the real stdout and
 * sends anything else written through `process.stdout` (a stray console.log in a dependency)
 * to stderr instead, so it cannot corrupt the protocol. Returns the undo function too.
 */
export function reserveStdout(): { frames: Writable; restore(): void } {
  const stdout = process.stdout;
  const write = stdout.write;
  const realWrite = write.bind(stdout);
  const frames = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      realWrite(chunk, (err) => callback(err ?? null));
    },
  });
  stdout.write = process.stderr.write.bind(process.stderr);
  return {
    frames,
    restore() {
      stdout.write = write;
    },
  };
}

/**
 * `agentic mcp`: serves the MCP tools on stdin/stdout until stdin ends or SIGTERM/SIGINT
 * arrives. Starts an embedded runner when no runner holds the lease (a plain client
 * otherwise, taking over if the lease frees up); closes the session, the completion watch and
 * the runner on the way out (agents keep running for the next runner). Logs go to stderr only.
 */
export async function serveStdio(ctx: AppContext, options: StdioOptions = {}): Promise<void> {
  const { frames, restore } = reserveStdout();
  const runner = await EmbeddedRunner.start(ctx, options);
  const watch = new CompletionWatch(ctx, options.pollMs);
  const session = createMcpSession(ctx, { watch });
  let stop: (why: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onSigterm = (): void => stop('SIGTERM');
  const onSigint = (): void => stop('SIGINT');
  const onEnd = (): void => stop('stdin closed');
  process.once('SIGTERM', onSigterm);
  process.once('SIGINT', onSigint);
  process.stdin.once('end', onEnd);
  process.stdin.once('close', onEnd);
  session.server.server.onclose = () => stop('transport closed');
  try {
    await session.server.connect(new StdioServerTransport(process.stdin, frames));
    ctx.logger.info({ mode: runner.mode }, 'mcp: serving on stdio');
    const why = await stopped;
    ctx.logger.info({ reason: why }, 'mcp: stopping');
  } finally {
    process.off('SIGTERM', onSigterm);
    process.off('SIGINT', onSigint);
    process.stdin.off('end', onEnd);
    process.stdin.off('close', onEnd);
    await session.close().catch(() => undefined);
    watch.close();
    await runner.close();
    await new Promise<void>((resolve) => frames.end(resolve));
    restore();
  }
}
