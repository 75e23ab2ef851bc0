import type { Server } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { readRecord, recordInTx, trackInTransaction } from '../lifecycle/index.js';
import { hydrate, type Reattach } from '../lifecycle/hydrate.js';
import type { AgentsFile } from '../config/index.js';
import { checksWaitDueIn, closeoutRun } from '../deliver/index.js';
import { batched } from '../lib/batch.js';
import { Semaphore } from '../lib/mutex.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError, toAgenticError } from '../lib/errors.js';
import { readTextIfExists } from '../lib/fs.js';
import { isProcessAlive } from '../lib/proc.js';
import { poolOf, workspaceDir, type StatusRecord } from '../workspace/index.js';
import { agentCommand, findExecutable, resumableSession } from './agents.js';
import { claimReady, type Claim } from './claim.js';
import { endRuns, journalEnds, type FinishItem, type RunEnd } from './finish.js';
import { launchAgent, logPath, readExitRecord, type Launched } from './launch.js';
import { RunnerLease } from './runner-lease.js';
import { prepareClone, sourceOf, writePrompt, type PrepResult } from './prep.js';
import { buildPrompt } from './prompt.js';
import { listenForWakeups } from './wake.js';
import { PauseLog } from './pause-log.js';
import { ConfigWatch } from './config-watch.js';
import { enforceReapDeadlines, terminateGroup } from './reaper.js';
import { createSyncService, SendLoop as SyncDrainer } from '../sync/index.js';
import { FleetMembership, isFleet, takeOverLostNodes } from '../fleet/index.js';

/** Options of a runner; everything has a production default. */
export interface RunnerOptions {
  /** Node id recorded on claimed records (fleet mode); default: config.nodeId. */
  node?: string;
  /** Safety-net poll when no wake-up arrives, in ms (default 2000). */
  pollMs?: number;
  /** How often re-attached agents are checked, in ms (default 250). */
  watchMs?: number;
}

/** An agent just spawned, whose pid the record is to take. */
interface Start {
  name: string;
  runs: number;
  launched: Launched;
  baseRef: string;
  baseSha: string;
}

interface Watch {
  name: string;
  pid: number;
  runs: number;
  timers: NodeJS.Timeout[];
  stop(): void;
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
  private drainer: SyncDrainer | undefined;
  private readonly onCommitted = (): void => this.drainer?.wake();
  private readonly watches = new Map<string, Watch>();
  private readonly launches = new Set<Promise<void>>();
  private readonly node: string;
  /** This node's lease in the node registry (fleet mode judges liveness by it). */
  private membership: FleetMembership | undefined;
  /** Stops listening for other nodes' wake-ups (fleet mode). */
  private unlisten: (() => Promise<void>) | undefined;
  private resolveStopped: () => void = () => undefined;
  /** Settles once the runner has stopped, whether asked to or because it lost a lease. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));
  /** Runs ending together are finished in one transaction. */
  private readonly endBatch = batched(async (items: FinishItem[]) => {
    const { result, durable } = await endRuns(this.ctx, items);
    return items.map((i) => ({ record: result.get(i.name), durable }));
  });
  /** Runs finished together are journaled together, apart from the finishing. */
  private readonly journalBatch = batched(async (ended: Array<[string, StatusRecord]>) => {
    await journalEnds(this.ctx, new Map(ended));
    return ended.map(() => undefined);
  });
  /** Agents spawned together have their pids recorded in one transaction. */
  private readonly recordStart = batched((items: Start[]) => this.recordStarts(items));

  /**
   * Ends a run. Its slot is free once the status transaction commits, so the runner claims the
   * next work right then, while the commit's fsync runs; the journal commit follows once the
   * status is durable (the `uncommitted` group keeps it owed should this process die first).
   */
  private async finish(item: FinishItem): Promise<void> {
    const { record, durable } = await this.endBatch(item);
    this.wake();
    await durable;
    // A run end is what pauses a pool; its runtime mirror is written by now.
    this.pauses.check();
    if (record?.closeout === 'pending') await this.closeout(item.name, record);
    else if (record) await this.journalBatch([item.name, record]);
  }

  /** QA runs share the machine with the agents: at most this many at once. */
  private readonly qaSlots = new Semaphore(Math.max(1, availableParallelism()));
  /** Closeouts at once (a restart may find hundreds pending; each spawns a few git processes). */
  private readonly closeoutSlots = new Semaphore(16);

  /**
   * Closes out a completed run (harvest, QA, hand-back), then journals the outcome; a QA fix
   * round queues the workspace again instead, and a pull request whose checks are awaited is
   * polled again when its record says (after a restart too: hydrate hands it back pending). A failure is logged and left to the next runner
   * start, which finds the closeout still pending.
   */
  private async closeout(name: string, record: StatusRecord): Promise<void> {
    const due = checksWaitDueIn(record, this.ctx.clock.now());
    if (due > 0) return this.closeoutLater(name, due);
    try {
      const closed = await this.closeoutSlots.run(() =>
        closeoutRun(this.ctx, name, record, (fn) => this.qaSlots.run(fn)),
      );
      if (closed === undefined) return;
      if (closed.closeout === 'pending')
        this.closeoutLater(name, checksWaitDueIn(closed, this.ctx.clock.now()));
      else if (closed.status === 'queued') {
        this.ctx.events.emit('finished', name, closed);
        this.wake();
      } else await this.journalBatch([name, closed]);
    } catch (err) {
      this.ctx.logger.error(
        { workspace: name, err: toAgenticError(err).message },
        'closeout failed; retried at the next runner start',
      );
    }
  }

  /** The timer of each pull request checks wait between two polls (the wait itself is on the record). */
  private readonly checksWaits = new Map<string, NodeJS.Timeout>();

  /** Polls a checks wait again in `ms`: re-reads the record then, so a reject or accept meanwhile wins. */
  private closeoutLater(name: string, ms: number): void {
    if (this.closed) return;
    clearTimeout(this.checksWaits.get(name));
    const timer = setTimeout(
      () => {
        this.checksWaits.delete(name);
        this.track(name, this.closeoutAgain(name));
      },
      Math.min(ms, 2 ** 31 - 1),
    );
    this.checksWaits.set(name, timer);
  }

  private async closeoutAgain(name: string): Promise<void> {
    if (this.closed) return;
    const record = await readRecord(this.ctx, name);
    if (record?.closeout === 'pending') await this.closeout(name, record);
  }

  private constructor(
    private readonly ctx: AppContext,
    private readonly lease: RunnerLease,
    private readonly options: RunnerOptions,
  ) {
    this.node = options.node ?? ctx.config.nodeId;
    this.pauses = new PauseLog(ctx.config.coreRoot, ctx.logger, ctx.clock);
    this.configWatch = new ConfigWatch(ctx, () => this.wake());
  }

  /** Re-reads agents.yaml when it changes; new claims use what it says. */
  private readonly configWatch: ConfigWatch;

  /** Reads agents.yaml again now (the daemon's SIGHUP); an invalid file keeps the configuration in effect. */
  reloadConfig(): void {
    if (!this.closed) this.configWatch.reload();
  }

  /** Logs pools pausing and resuming. */
  private readonly pauses: PauseLog;

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
    const { reattach, closeouts } = await hydrate(this.ctx);
    for (const r of reattach) this.reattach(r);
    this.pauses.check();
    for (const [name, record] of closeouts) this.track(name, this.closeout(name, record));
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
    this.drainer = new SyncDrainer(await createSyncService(this.ctx));
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
    );
    void this.takeOver();
    this.pollTimer = setInterval(() => this.wake(), this.options.pollMs ?? 2000);
    this.pollTimer.unref();
    // Grace periods recorded by an earlier runner, a client's cancel or kill, or this runner.
    this.sweepReaps();
    this.reapTimer = setInterval(() => this.sweepReaps(), 1000);
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

  /** Fleet mode: takes over the work of nodes whose lease expired, then claims what it freed. */
  private async takeOver(): Promise<void> {
    try {
      if (this.closed || !isFleet(await this.ctx.store())) return;
      const report = await takeOverLostNodes(this.ctx);
      if (report.requeued.length > 0 || report.failed.length > 0) this.wake();
    } catch (err) {
      this.ctx.logger.warn({ err: toAgenticError(err).message }, 'node takeover failed; retrying');
    }
  }

  /** Number of agents this runner is watching. */
  get active(): number {
    return this.watches.size + this.launches.size;
  }

  private async pump(): Promise<void> {
    try {
      const batch = await claimReady(this.ctx, 1000, this.node);
      if (this.pauses.anyPaused) this.pauses.check();
      for (const claim of batch.claims) this.track(claim.name, this.launch(claim, batch.durable));
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
      if (!this.watches.has(name)) this.wake();
    });
  }

  /** Prepares the workspace while the claim's fsync runs; starts the agent once it is durable. */
  private async launch(claim: Claim, claimDurable: Promise<void>): Promise<void> {
    const { name, record } = claim;
    const dir = workspaceDir(this.ctx.config.workspaceRoot, name);
    const ref = { runs: record.runs, pid: undefined };
    try {
      const env = this.ctx.config.childEnv;
      if (!record.source)
        throw new AgenticError(
          'PREP_FAILED',
          'the record has no repository source; dispatch it again',
        );
      const source = sourceOf(record.source);
      const prep = await prepareClone(dir, source, record.branch, env, {
        ref: record.base_ref,
        sha: record.base_sha,
      });
      const resumeSession = resumableSession(
        this.ctx.config.file,
        record.agent,
        record.resume_session,
      );
      const prompt = promptFor(this.ctx.config.file, name, record, prep, resumeSession);
      const promptFile = await writePrompt(dir, prompt);
      const model = record.agent.includes(':')
        ? record.agent.slice(record.agent.indexOf(':') + 1)
        : undefined;
      const command = agentCommand(this.ctx.config.file, record.agent, {
        prompt,
        promptFile,
        model,
        workspace: dir,
        repoDir: prep.repoDir,
        resumeSession,
      });
      if (findExecutable(command.argv[0], env['PATH']) === undefined) {
        await this.finish({
          name,
          ref,
          end: {
            kind: 'not-started',
            question: `agent CLI '${command.argv[0]}' not found on PATH`,
          },
        });
        return;
      }
      await claimDurable;
      const current = await readRecord(this.ctx, name);
      if (
        current?.status !== 'running' ||
        current.runs !== record.runs ||
        current.pid !== undefined
      )
        return;
      if (current.kill_reason !== undefined) {
        // Cancelled or killed while preparing: never start the agent.
        await this.finish({
          name,
          ref,
          end: { kind: 'not-started', question: 'stopped before the agent started' },
        });
        return;
      }
      const launched = await launchAgent(
        dir,
        command,
        logPath(dir, poolOf(record.agent)),
        {
          ...env,
          AGENTIC_WORKSPACE: name,
          AGENTIC_RUN: String(record.runs + 1),
          ...(record.continue_prompt ? { AGENTIC_CONTINUE: '1' } : {}),
        },
        record.runs + 1,
      );
      const started = await this.recordStart({
        name,
        runs: record.runs,
        launched,
        baseRef: prep.baseRef,
        baseSha: prep.baseSha,
      });
      if (!started) {
        this.terminate(launched.pid, name, 'stopped before it was recorded');
        return;
      }
      this.watch(name, started, launched.exited);
    } catch (err) {
      const e = toAgenticError(err);
      this.ctx.logger.warn({ workspace: name, err: e.message }, 'dispatch could not start');
      await this.finish({ name, ref, end: { kind: 'not-started', question: e.message } }).catch(
        () => undefined,
      );
    }
  }

  /**
   * Records the pid of each spawned agent (runs + 1, started_at) in one transaction; an entry
   * is undefined when its record moved on meanwhile (cancelled, killed), and that agent is
   * then stopped by the caller.
   */
  private async recordStarts(items: Start[]): Promise<Array<StatusRecord | undefined>> {
    return trackInTransaction(this.ctx, async (trackFn, tx) => {
      const out: Array<StatusRecord | undefined> = [];
      for (const { name, runs, launched, baseRef, baseSha } of items) {
        const now = await recordInTx(this.ctx, tx, name);
        if (now?.status !== 'running' || now.runs !== runs) {
          out.push(undefined);
          continue;
        }
        const started = await trackFn(name, {
          ...now,
          pid: launched.pid,
          pid_start: launched.pidStart,
          process_id: `${this.node}:${launched.pid}`,
          runs: now.runs + 1,
          started_at: isoUtc(this.ctx.clock.now()),
          base_ref: baseRef,
          base_sha: baseSha,
        });
        out.push(started ?? undefined);
      }
      return out;
    });
  }

  /** Watches an agent this runner started: its exit event, plus the timeout. */
  private watch(name: string, record: StatusRecord, exited: Promise<number | null>): void {
    const w = this.newWatch(name, record);
    void exited.then(() => this.end(w, name));
  }

  /** Watches an agent found alive at start by polling its pid and exit.json. */
  private reattach(r: Reattach): void {
    const w = this.newWatch(r.name, r.record);
    const poll = setInterval(() => {
      const dir = workspaceDir(this.ctx.config.workspaceRoot, r.name);
      if (readExitRecord(dir) !== undefined || !isProcessAlive(w.pid, r.record.pid_start))
        void this.end(w, r.name);
    }, this.options.watchMs ?? 250);
    poll.unref();
    w.timers.push(poll);
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
    await this.markKill(name, w, 'timeout');
    this.terminate(w.pid, name, 'timeout');
  }

  /**
   * SIGTERM to an agent's process group, with its SIGKILL deadline recorded on disk first: the
   * runner's sweep ({@link sweepReaps}) enforces it, and so does the next runner if this one
   * stops within the grace period.
   */
  private terminate(pgid: number, name: string, reason: string): void {
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
  private sweepReaps(): void {
    try {
      enforceReapDeadlines(this.ctx.config.coreRoot, this.ctx.clock.now(), this.ctx.logger);
    } catch (err) {
      this.ctx.logger.error({ err: toAgenticError(err).message }, 'reaping process groups failed');
    }
  }

  private async markKill(name: string, w: Watch, reason: 'timeout'): Promise<void> {
    await trackInTransaction(this.ctx, async (trackFn, tx) => {
      const now = await recordInTx(this.ctx, tx, name);
      if (now?.status === 'running' && now.pid === w.pid && now.kill_reason === undefined)
        await trackFn(name, { ...now, kill_reason: reason });
    });
  }

  private ending = new Set<Watch>();

  private async end(w: Watch, name: string): Promise<void> {
    if (this.ending.has(w) || this.watches.get(name) !== w) return;
    this.ending.add(w);
    w.stop();
    // Whatever is left of the group (background children, a grandchild that ignored SIGTERM).
    if (w.pid > 0) this.terminate(w.pid, name, 'run ended');
    try {
      const dir = workspaceDir(this.ctx.config.workspaceRoot, name);
      const exit = readExitRecord(dir);
      const end: RunEnd = exit
        ? {
            kind: 'exited',
            exitCode: exit.exit_code,
            signal: exit.signal,
            endedAt: new Date(exit.ended_at),
          }
        : { kind: 'vanished' };
      await this.finish({ name, ref: { runs: w.runs, pid: w.pid }, end });
    } catch (err) {
      this.ctx.logger.error(
        { workspace: name, err: toAgenticError(err).message },
        'could not finish run',
      );
    } finally {
      this.watches.delete(name);
      this.ending.delete(w);
      this.wake();
    }
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
    for (const timer of this.checksWaits.values()) clearTimeout(timer);
    this.checksWaits.clear();
    await this.membership?.close();
    await this.unlisten?.();
    await this.pumping;
    await Promise.race([
      Promise.allSettled([...this.launches]),
      new Promise((r) => setTimeout(r, 10_000).unref()),
    ]);
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
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

/**
 * The prompt of a run: the preamble (agents.yaml `dispatch.prompt_template`, else the built-in
 * one) around the task, plus the answer to an earlier question and a note to continue after a
 * usage limit. The `shell` agent runs the task as a script, so it gets the task alone (its
 * scripts can read AGENTIC_CONTINUE instead).
 */
function promptFor(
  file: AgentsFile,
  name: string,
  record: StatusRecord,
  prep: PrepResult,
  resumeSession: string | undefined,
): string {
  if (poolOf(record.agent) === 'shell') return record.task;
  return buildPrompt(file.dispatch.prompt_template, {
    task: record.task,
    branch: prep.branch,
    base: prep.baseRef,
    workspace: name,
    repoDir: prep.repoDir,
    answer: readTextIfExists(join(prep.repoDir, 'ANSWER.md')),
    continueAfterLimit: record.continue_prompt === true,
    resumed: resumeSession !== undefined,
  });
}
