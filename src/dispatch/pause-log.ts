import type { Logger } from '../lib/logger.js';
import type { Clock } from '../lib/clock.js';
import { pausedPoolsFromFile, type PoolPause } from './runtime-state.js';

/**
 * Writes one daemon log line each time a pool pauses (fast failures, a usage or rate limit) or
 * resumes (its pause ran out, or `agentic start` cleared it), so an operator reading the log
 * knows why a pool stopped taking work and until when. It compares the pauses the runtime
 * state's file mirror holds with those it last logged; the runner asks it after every run end,
 * and on every wake-up while a pool is paused (pauses are set by run ends, and cleared by time
 * or by another process).
 */
export class PauseLog {
  private readonly logged = new Map<string, PoolPause>();

  constructor(
    private readonly coreRoot: string,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** True while some pool is known to be paused: only then can a wake-up end a pause. */
  get anyPaused(): boolean {
    return this.logged.size > 0;
  }

  /** Logs the pauses that began, moved or ended since the last call. */
  check(): void {
    const now = this.clock.now();
    const current = new Map(pausedPoolsFromFile(this.coreRoot, now).map((p) => [p.pool, p]));
    for (const [pool, p] of current) {
      const before = this.logged.get(pool);
      if (before?.until === p.until && before.reason === p.reason) continue;
      this.logged.set(pool, p);
      this.logger.warn(
        { pool, reason: p.reason, until: p.until },
        `pool ${pool} paused until ${p.until}: ${p.reason}`,
      );
    }
    for (const [pool, p] of this.logged) {
      if (current.has(pool)) continue;
      this.logged.delete(pool);
      const reason =
        Date.parse(p.until) <= now.getTime() ? 'pause ran out' : 'pause cleared (agentic start)';
      this.logger.info({ pool, reason, paused_until: p.until }, `pool ${pool} resumed: ${reason}`);
    }
  }
}
