import type { AppContext } from '../context.js';
import { leaseHeld } from '../dispatch/runner-lease.js';
import { Runner } from '../dispatch/runner.js';
import { toAgenticError } from '../lib/errors.js';

/** Options of {@link EmbeddedRunner.start}. */
export interface EmbeddedRunnerOptions {
  /** How often a plain client checks whether the lease became free, in ms (default 5000; 0 = never). */
  takeoverMs?: number;
}

/**
 * The runner of an `agentic mcp` session (docs/ARCHITECTURE.md): started in-process when no runner holds
 * the lease; otherwise the session is a plain client and checks every `takeoverMs` whether the
 * lease became free (the daemon or another session ended), so queued work never waits for a
 * runner that is gone. Closing stops the runner; its agents keep running for the next one.
 */
export class EmbeddedRunner {
  private runner: Runner | undefined;
  private timer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private failures = 0;
  private closed = false;

  private constructor(private readonly ctx: AppContext) {}

  /** Tries to take the lease now and, as a plain client, keeps trying every `takeoverMs`. */
  static async start(
    ctx: AppContext,
    options: EmbeddedRunnerOptions = {},
  ): Promise<EmbeddedRunner> {
    const embedded = new EmbeddedRunner(ctx);
    await embedded.tryStart();
    if (!embedded.runner)
      ctx.logger.info('mcp: another runner holds the lease; acting as a client');
    const every = options.takeoverMs ?? 5000;
    if (every > 0) {
      embedded.timer = setInterval(() => {
        if (embedded.runner || embedded.starting) return;
        if (leaseHeld(ctx.config.coreRoot, ctx.clock.now())) return;
        embedded.starting = embedded.tryStart().finally(() => (embedded.starting = undefined));
      }, every).unref();
    }
    return embedded;
  }

  /** `runner` while this process holds the lease, else `client`. */
  get mode(): 'runner' | 'client' {
    return this.runner ? 'runner' : 'client';
  }

  private async tryStart(): Promise<void> {
    try {
      const runner = await Runner.start(this.ctx);
      if (runner && this.closed) {
        await runner.close();
        return;
      }
      this.runner = runner;
      if (runner) this.ctx.logger.info('mcp: embedded runner started');
      this.failures = 0;
    } catch (err) {
      const message = toAgenticError(err).message;
      if (this.failures++ === 0)
        this.ctx.logger.error({ err: message }, 'mcp: embedded runner could not start');
      else this.ctx.logger.debug({ err: message }, 'mcp: embedded runner could not start');
    }
  }

  /** Stops trying and closes the runner if this process holds it; safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.starting;
    await this.runner?.close();
    this.runner = undefined;
  }
}
