import type { AppContext } from '../context.js';
import { recordInTx, trackInTransaction } from '../lifecycle/index.js';
import type { Reattach } from './hydrate-running.js';
import { toAgenticError } from '../lib/errors.js';
import { isProcessAlive } from '../lib/proc.js';
import { retryUntilDone, warnEachRetry } from '../lib/retry.js';
import { workspaceDir, type StatusRecord } from '../workspace/index.js';
import { readExitRecord, runEndFromExit } from './launch.js';
import { enforceReapDeadlines, terminateGroup } from './reaper.js';
import type { FinishItem } from './run-end.js';

/** What the watcher needs from the runner that owns it. */
export interface RunWatcherHooks {
  /** Ends a run whose agent is gone (exited, or vanished without an exit record). */
  finish(item: FinishItem): Promise<void>;
  /** Asks the runner to claim work now: a watched run's slot is free. */
  wake(): void;
}

/** One agent being watched to its end. */
interface Watch {
  name: string;
  pid: number;
  runs: number;
  timers: NodeJS.Timeout[];
  stop(): void;
}

/**
 * Watches the runner's agents to their end: the exit event (or a pid poll for agents found
 * alive at start), the run timeout, and the SIGKILL deadlines of terminated process groups.
 */
export class RunWatcher {
  private readonly watches = new Map<string, Watch>();
  private readonly ending = new Set<Watch>();
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    /** How often re-attached agents are checked, in ms. */
    private readonly watchMs: number,
    private readonly hooks: RunWatcherHooks,
  ) {}

  /** Number of agents being watched. */
  get size(): number {
    return this.watches.size;
  }

  /** Whether the named workspace's agent is being watched. */
  has(name: string): boolean {
    return this.watches.has(name);
  }

  /** The watched agents: workspace and process group. */
  watched(): Array<{ name: string; pid: number }> {
    return [...this.watches.values()].map((w) => ({ name: w.name, pid: w.pid }));
  }

  /** Watches an agent this runner started: its exit event, plus the timeout. */
  watch(name: string, record: StatusRecord, exited: Promise<number | null>): void {
    const w = this.newWatch(name, record);
    void exited.then(() => this.end(w, name));
  }

  /** Watches an agent found alive at start by polling its pid and exit.json. */
  reattach(r: Reattach): void {
    const w = this.newWatch(r.name, r.record);
    const poll = setInterval(() => {
      const dir = workspaceDir(this.ctx.config.workspaceRoot, r.name);
      if (readExitRecord(dir) !== undefined || !isProcessAlive(w.pid, r.record.pid_start))
        void this.end(w, r.name);
    }, this.watchMs);
    poll.unref();
    w.timers.push(poll);
  }

  /**
   * SIGTERM to an agent's process group, with its SIGKILL deadline recorded on disk first: the
   * runner's sweep ({@link sweepReaps}) enforces it, and so does the next runner if this one
   * stops within the grace period.
   */
  terminate(pgid: number, name: string, reason: string): void {
    terminateGroup(pgid, {
      coreRoot: this.ctx.config.coreRoot,
      graceSeconds: this.ctx.config.file.dispatch.kill_grace_seconds,
      now: this.ctx.clock.now(),
      workspace: name,
      reason,
      logger: this.ctx.logger,
    });
  }

  /** SIGKILLs the process groups whose grace period is over, whoever sent their SIGTERM. */
  sweepReaps(): void {
    try {
      enforceReapDeadlines(this.ctx.config.coreRoot, this.ctx.clock.now(), this.ctx.logger);
    } catch (err) {
      this.ctx.logger.error({ err: toAgenticError(err).message }, 'reaping process groups failed');
    }
  }

  /** Stops watching every agent; they keep running detached for the next runner. */
  stopAll(): void {
    // Run ends still being retried are left to the next runner, which finds their exit.json.
    this.stopped = true;
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
  }

  private newWatch(name: string, record: StatusRecord): Watch {
    const pid = record.pid ?? -1;
    const timers: NodeJS.Timeout[] = [];
    const w: Watch = {
      name,
      pid,
      runs: record.runs,
      timers,
      stop: () => timers.forEach((t) => clearTimeout(t)),
    };
    this.watches.set(name, w);
    const timeoutMs = this.ctx.config.file.dispatch.timeout_minutes * 60_000;
    const started = record.started_at
      ? Date.parse(record.started_at)
      : this.ctx.clock.now().getTime();
    const left = Math.max(0, started + timeoutMs - this.ctx.clock.now().getTime());
    const t = setTimeout(() => void this.timeOut(w, name), Math.min(left, 2 ** 31 - 1));
    t.unref();
    timers.push(t);
    return w;
  }

  private async timeOut(w: Watch, name: string): Promise<void> {
    // Stopped all the same when the store does not answer: the run then ends as a plain failure.
    await this.markKill(name, w, 'timeout').catch((err: unknown) =>
      this.ctx.logger.warn(
        { workspace: name, err: toAgenticError(err).message },
        'could not record the timeout; stopping the agent anyway',
      ),
    );
    this.terminate(w.pid, name, 'timeout');
  }

  private async markKill(name: string, w: Watch, reason: 'timeout'): Promise<void> {
    await trackInTransaction(this.ctx, async (trackFn, tx) => {
      const now = await recordInTx(tx, name);
      if (now?.status === 'running' && now.pid === w.pid && now.kill_reason === undefined)
        await trackFn(name, { ...now, kill_reason: reason });
    });
  }

  private async end(w: Watch, name: string): Promise<void> {
    if (this.ending.has(w) || this.watches.get(name) !== w) return;
    this.ending.add(w);
    w.stop();
    // Whatever is left of the group (background children, a grandchild that ignored SIGTERM).
    if (w.pid > 0) this.terminate(w.pid, name, 'run ended');
    try {
      const dir = workspaceDir(this.ctx.config.workspaceRoot, name);
      const end = runEndFromExit(dir);
      // Never dropped: a store that does not answer (the fleet database down) leaves the record
      // `running` otherwise. The agent's exit.json keeps the end meanwhile; each attempt re-reads
      // the record and writes under this node's fencing, so a takeover meanwhile is not undone.
      await retryUntilDone(
        () => this.hooks.finish({ name, ref: { runs: w.runs, pid: w.pid }, end }),
        {
          stopped: () => this.stopped,
          onError: warnEachRetry(this.ctx.logger, 'record the run end', { workspace: name }),
        },
      );
    } finally {
      this.watches.delete(name);
      this.ending.delete(w);
      this.hooks.wake();
    }
  }
}
