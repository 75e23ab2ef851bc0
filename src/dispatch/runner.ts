import type { Server } from 'node:net';
import type { AppContext } from '../context.js';
import { hydrate } from './hydrate.js';
import { toAgenticError } from '../lib/errors.js';
import { claimReady } from './claim.js';
import { Closeouts } from './closeouts.js';
import { RunnerLease } from './runner-lease.js';
import { RunStarter } from './start-run.js';
import { RunWatcher } from './watch-runs.js';
import { OwnerIntents } from './owner-intents.js';
import { listenForWakeups } from './wake.js';
import { PauseLog } from './pause-log.js';
import { ConfigWatch } from './config-watch.js';
import { createSyncService, SendLoop } from '../sync/index.js';
import { FleetMembership, joinFleetSettings, takeOverLostNodes } from '../fleet/index.js';
import { isFleet } from '../store/index.js';

/** Options of a runner; everything has a production default. */
export interface RunnerOptions {
  /** Node id recorded on claimed records (fleet mode); default: config.nodeId. */
  node?: string;
  /** Safety-net poll when no wake-up arrives, in ms (default 2000). */
  pollMs?: number;
  /** How often re-attached agents are checked, in ms (default 250). */
  watchMs?: number;
  /**
   * The store did not answer until just now (the daemon waited for it): every node's heartbeat
   * stopped with it, so no node is judged dead for one lease (default false).
   */
  afterOutage?: boolean;
}

/**
 * The one process per CoreRoot that spawns agents (docs/ARCHITECTURE.md): holds the lease, hydrates on
 * start (re-attaching live agents, reaping ghosts), then claims queued work whenever it is
 * woken (a client's wake-up, a finished run, a back-off deadline) and watches every agent to
 * its end; it also runs the sync drain loop. Closing stops claiming and syncing and leaves
 * agents running detached for the next runner.
 */
export class Runner {
  private closed = false;
  private pumping: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reapTimer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private drainer: SendLoop | undefined;
  private readonly onCommitted = (): void => this.drainer?.wake();
  private readonly launches = new Set<Promise<void>>();
  private readonly node: string;
  /** This node's lease in the node registry (fleet mode judges liveness by it). */
  private membership: FleetMembership | undefined;
  /** Stops listening for other nodes' wake-ups (fleet mode). */
  private unlisten: (() => Promise<void>) | undefined;
  private resolveStopped: () => void = () => undefined;
  /** Settles once the runner has stopped, whether asked to or because it lost a lease. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));
  /** Ends runs and closes out completed ones. */
  private readonly closeouts: Closeouts;
  /** Watches agents to their end. */
  private readonly watcher: RunWatcher;
  /** Starts claimed runs. */
  private readonly starter: RunStarter;
  /** Re-reads agents.yaml when it changes; new claims use what it says. */
  private readonly configWatch: ConfigWatch;
  /** Logs pools pausing and resuming. */
  private readonly pauses: PauseLog;
  /** Fleet mode: acts on cancels and kills given on other nodes, answers their log requests. */
  private readonly intents: OwnerIntents;

  private constructor(
    private readonly ctx: AppContext,
    private readonly lease: RunnerLease,
    private readonly options: RunnerOptions,
  ) {
    this.node = options.node ?? ctx.config.nodeId;
    this.pauses = new PauseLog(ctx.config.coreRoot, ctx.logger, ctx.clock);
    this.configWatch = new ConfigWatch(ctx, () => {
      this.wake();
      // A reloaded agents.yaml may now disagree with the fleet's settings (or agree again).
      void this.checkFleetSettings();
    });
    this.closeouts = new Closeouts(ctx, {
      wake: () => this.wake(),
      track: (name, job) => this.track(name, job),
      runEnded: () => this.pauses.check(),
    });
    const finish = this.closeouts.finish.bind(this.closeouts);
    this.watcher = new RunWatcher(ctx, options.watchMs ?? 250, {
      finish,
      wake: () => this.wake(),
    });
    this.starter = new RunStarter(ctx, this.node, {
      finish,
      watch: (name, record, exited) => this.watcher.watch(name, record, exited),
      terminate: (pgid, name, reason) => this.watcher.terminate(pgid, name, reason),
    });
    this.intents = new OwnerIntents(ctx, this.node, {
      watched: () => this.watcher.watched(),
      terminate: (pgid, name, reason) => this.watcher.terminate(pgid, name, reason),
    });
  }

  /** Reads agents.yaml again now (the daemon's SIGHUP); an invalid file keeps the configuration in effect. */
  reloadConfig(): void {
    if (!this.closed) this.configWatch.reload();
  }

  /**
   * Takes the lease and starts the runner; resolves undefined when another live runner holds
   * the lease (the caller is then a plain client).
   */
  static async start(ctx: AppContext, options: RunnerOptions = {}): Promise<Runner | undefined> {
    await ctx.store();
    const lease = RunnerLease.tryAcquire(
      ctx.config.coreRoot,
      ctx.clock,
      options.node ?? ctx.config.nodeId,
    );
    if (!lease) return undefined;
    // The runner serves many agents at once: its writes share fsyncs off the event loop.
    (await ctx.store()).groupCommit?.();
    const runner = new Runner(ctx, lease, options);
    try {
      await runner.begin();
    } catch (err) {
      await runner.close();
      throw err;
    }
    return runner;
  }

  private async begin(): Promise<void> {
    // Registered before hydrate: other nodes see this node live before it touches anything.
    this.membership = await FleetMembership.join(this.ctx);
    await this.checkFleetSettings();
    const { reattach, closeouts } = await hydrate(this.ctx);
    for (const r of reattach) this.watcher.reattach(r);
    this.pauses.check();
    for (const [name, record] of closeouts) this.track(name, this.closeouts.closeout(name, record));
    this.server = await listenForWakeups(this.ctx.config.coreRoot, () => this.wake());
    this.unlisten = await (
      await this.ctx.store()
    )
      .listenWakes?.(() => this.wake())
      .catch((err: unknown) => {
        this.ctx.logger.warn(
          { err: toAgenticError(err).message },
          'no fleet wake-ups; other nodes are found by the poll',
        );
        return undefined;
      });
    // Sync rides along with the runner: every commit wakes the drain loop (a no-op offline).
    this.drainer = new SendLoop(await createSyncService(this.ctx));
    this.drainer.start();
    this.ctx.events.on('committed', this.onCommitted);
    this.lease.startHeartbeat(() => {
      this.ctx.logger.error('runner lease taken over by another process; stopping');
      void this.close();
    });
    this.configWatch.start();
    this.membership.start(
      (why) => {
        this.ctx.logger.error({ reason: why }, 'node lease lost; stopping');
        void this.close();
      },
      () => void this.takeOver(),
      this.options.afterOutage === true,
    );
    if (this.options.afterOutage !== true) void this.takeOver();
    this.pollTimer = setInterval(() => this.wake(), this.options.pollMs ?? 2000);
    this.pollTimer.unref();
    // Grace periods recorded by an earlier runner, a client's cancel or kill, or this runner.
    this.watcher.sweepReaps();
    this.reapTimer = setInterval(() => this.watcher.sweepReaps(), 1000);
    this.reapTimer.unref();
    this.ctx.logger.info(
      { core_root: this.ctx.config.coreRoot, reattached: reattach.length },
      'runner started',
    );
    this.wake();
  }

  /** Asks the runner to look for claimable work now (coalesced). */
  wake(): void {
    if (this.closed) return;
    this.intents.wake();
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Fleet mode: seeds the shared settings, or warns where this node's agents.yaml differs. */
  private async checkFleetSettings(): Promise<void> {
    try {
      await joinFleetSettings(this.ctx);
    } catch (err) {
      this.ctx.logger.error(
        { err: toAgenticError(err).message },
        'fleet settings not checked; claims count with what the store holds',
      );
    }
  }

  /** Fleet mode: takes over the work of nodes whose lease expired, then claims what it freed. */
  private async takeOver(): Promise<void> {
    try {
      if (this.closed || !isFleet(await this.ctx.store())) return;
      const report = await takeOverLostNodes(this.ctx);
      if (report.requeued.length + report.failed.length + report.unpinned.length > 0) this.wake();
    } catch (err) {
      this.ctx.logger.warn({ err: toAgenticError(err).message }, 'node takeover failed; retrying');
    }
  }

  /** Number of agents this runner is watching. */
  get active(): number {
    return this.watcher.size + this.launches.size;
  }

  private async pump(): Promise<void> {
    try {
      const batch = await claimReady(this.ctx, 1000, this.node);
      if (this.pauses.anyPaused) this.pauses.check();
      for (const claim of batch.claims)
        this.track(claim.name, this.starter.launch(claim, batch.durable));
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      if (batch.retryAt !== undefined) {
        const delay = Math.max(10, batch.retryAt.getTime() - this.ctx.clock.now().getTime());
        this.retryTimer = setTimeout(() => this.wake(), Math.min(delay, 2 ** 31 - 1));
        this.retryTimer.unref();
      }
    } catch (err) {
      this.ctx.logger.error({ err: toAgenticError(err).message }, 'claim failed; will retry');
    }
  }

  private track(name: string, p: Promise<void>): void {
    this.launches.add(p);
    void p.finally(() => {
      this.launches.delete(p);
      // A launch that ended without an agent to watch (failed prep, cancelled meanwhile) may
      // have freed its slot.
      if (!this.watcher.has(name)) this.wake();
    });
  }

  /**
   * Stops claiming, stops watching (agents keep running detached; the next runner re-attaches
   * them), waits briefly for launches in progress, releases the lease. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.reapTimer) clearInterval(this.reapTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.configWatch.close();
    this.closeouts.close();
    this.starter.stop();
    await this.intents.close();
    await this.membership?.close();
    await this.unlisten?.();
    await this.pumping;
    await Promise.race([
      Promise.allSettled([...this.launches]),
      new Promise((r) => setTimeout(r, 10_000).unref()),
    ]);
    this.watcher.stopAll();
    this.ctx.events.off('committed', this.onCommitted);
    await this.drainer?.close();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
    this.lease.release();
    this.ctx.logger.info('runner stopped; agents left running are re-attached by the next runner');
    this.resolveStopped();
  }
}
