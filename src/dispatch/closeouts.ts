import { availableParallelism } from 'node:os';
import type { AppContext } from '../context.js';
import { readRecord } from '../lifecycle/index.js';
import { checksWaitDueIn, closeoutRun } from '../deliver/index.js';
import { batched } from '../lib/batch.js';
import { Semaphore } from '../lib/mutex.js';
import { toAgenticError } from '../lib/errors.js';
import { retryUntilDone, STORE_RETRY, warnEachRetry } from '../lib/retry.js';
import { GROUPS } from '../store/index.js';
import type { StatusRecord } from '../workspace/index.js';
import { endRuns, journalEnds } from './finish.js';
import type { FinishItem } from './run-end.js';

/** What the closeouts need from the runner that owns them. */
export interface CloseoutHooks {
  /** Asks the runner to claim work now: a slot was freed or a workspace queued again. */
  wake(): void;
  /** Keeps a background job of the named workspace in the runner's count until it settles. */
  track(name: string, job: Promise<void>): void;
  /** A run's end is durable (its runtime mirror is written): pools may have paused or resumed. */
  runEnded(): void;
}

/**
 * The runner's end of a run: the status transaction, then the closeout of a completed run
 * (harvest, QA, hand-back, pull request checks waits) or the journal commit.
 */
export class Closeouts {
  private closed = false;
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
  /** QA runs share the machine with the agents: at most this many at once. */
  private readonly qaSlots = new Semaphore(Math.max(1, availableParallelism()));
  /** Closeouts at once (a restart may find hundreds pending; each spawns a few git processes). */
  private readonly closeoutSlots = new Semaphore(16);
  /** The timer of each pull request checks wait between two polls (the wait itself is on the record). */
  private readonly checksWaits = new Map<string, NodeJS.Timeout>();
  /** The next back-off of each closeout interrupted by a store that did not answer, in ms. */
  private readonly storeRetries = new Map<string, number>();

  constructor(
    private readonly ctx: AppContext,
    private readonly hooks: CloseoutHooks,
  ) {}

  /**
   * Ends a run. Its slot is free once the status transaction commits, so the runner claims the
   * next work right then, while the commit's fsync runs; the journal commit follows once the
   * status is durable (the `uncommitted` group keeps it owed should this process die first).
   */
  async finish(item: FinishItem): Promise<void> {
    const { record, durable } = await this.endBatch(item);
    this.hooks.wake();
    await durable;
    // A run end is what pauses a pool; its runtime mirror is written by now.
    this.hooks.runEnded();
    if (record?.closeout === 'pending') await this.closeout(item.name, record);
    else if (record) {
      // The status is written; the journal commit is idempotent and owed in `uncommitted`. A
      // store that does not answer now is waited out rather than left to the next start.
      const ended = record;
      await retryUntilDone(() => this.journalBatch([item.name, ended]), {
        stopped: () => this.closed,
        onError: warnEachRetry(this.ctx.logger, 'journal the run end', { workspace: item.name }),
      });
    }
  }

  /**
   * Closes out a completed run (harvest, QA, hand-back), then journals the outcome; a QA fix
   * round queues the workspace again instead, and a pull request whose checks are awaited is
   * polled again when its record says (after a restart too: hydrate hands it back pending). A
   * failure is logged and left to the next runner start, which finds the closeout still pending.
   */
  async closeout(name: string, record: StatusRecord): Promise<void> {
    const due = checksWaitDueIn(record, this.ctx.clock.now());
    if (due > 0) return this.closeoutLater(name, due);
    try {
      const closed = await this.closeoutSlots.run(() =>
        closeoutRun(this.ctx, name, record, (fn) => this.qaSlots.run(fn)),
      );
      this.storeRetries.delete(name);
      if (closed === undefined) return;
      if (closed.closeout === 'pending')
        this.closeoutLater(name, checksWaitDueIn(closed, this.ctx.clock.now()));
      else if (closed.status === 'queued') {
        this.ctx.events.emit('finished', name, closed);
        this.hooks.wake();
      } else await this.journalBatch([name, closed]);
    } catch (err) {
      if (await this.storeDown()) return this.retryLater(name, err);
      this.ctx.logger.error(
        { workspace: name, err: toAgenticError(err).message },
        'closeout failed; retried at the next runner start',
      );
    }
  }

  /** Whether the store fails a cheap read: a closeout that failed then is tried again soon. */
  private async storeDown(): Promise<boolean> {
    try {
      await (await this.ctx.store()).count(GROUPS.nodes);
      return false;
    } catch {
      return true;
    }
  }

  /** Tries a closeout again after a back-off (doubling to 15 s) while the store does not answer. */
  private retryLater(name: string, err: unknown): void {
    const delay = this.storeRetries.get(name) ?? STORE_RETRY.firstMs;
    this.storeRetries.set(name, Math.min(delay * 2, STORE_RETRY.maxMs));
    this.ctx.logger.warn(
      { workspace: name, err: toAgenticError(err).message, retry_in_ms: delay },
      'closeout interrupted: the state store does not answer; retrying',
    );
    this.closeoutLater(name, delay);
  }

  /** Stops polling checks waits; the records keep them for the next runner. */
  close(): void {
    this.closed = true;
    for (const timer of this.checksWaits.values()) clearTimeout(timer);
    this.checksWaits.clear();
  }

  /** Polls a checks wait again in `ms`: re-reads the record then, so a reject or accept meanwhile wins. */
  private closeoutLater(name: string, ms: number): void {
    if (this.closed) return;
    clearTimeout(this.checksWaits.get(name));
    const timer = setTimeout(
      () => {
        this.checksWaits.delete(name);
        this.hooks.track(name, this.closeoutAgain(name));
      },
      Math.min(ms, 2 ** 31 - 1),
    );
    this.checksWaits.set(name, timer);
  }

  private async closeoutAgain(name: string): Promise<void> {
    if (this.closed) return;
    let record: StatusRecord | undefined;
    try {
      record = await readRecord(this.ctx, name);
    } catch (err) {
      return this.retryLater(name, err);
    }
    if (record?.closeout === 'pending') await this.closeout(name, record);
    else this.storeRetries.delete(name);
  }
}
