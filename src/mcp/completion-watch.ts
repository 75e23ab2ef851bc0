import type { AppContext } from '../context.js';
import { readRecord } from '../lifecycle/index.js';
import { isSettled, type StatusRecord } from '../workspace/index.js';

/** Receives the terminal record of a watched workspace, once. */
export type CompletionListener = (name: string, record: StatusRecord) => void;

interface Subscription {
  /** Only a record updated at or after this time is this dispatch's outcome. */
  since: string;
  listener: CompletionListener;
}

/**
 * Tells MCP sessions when the workspaces they dispatched reach a terminal status. It listens to
 * the in-process `finished` event (instant when this process runs the runner) and polls the
 * watched records every `pollMs` (default 1000), which covers a runner in another process.
 * A non-terminal `finished` (queued again after a usage limit) keeps the watch. One per process.
 */
export class CompletionWatch {
  private readonly subs = new Map<string, Set<Subscription>>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly onFinished = (name: string, record: StatusRecord): void =>
    this.deliver(name, record);

  constructor(
    private readonly ctx: AppContext,
    private readonly pollMs = 1000,
  ) {
    ctx.events.on('finished', this.onFinished);
  }

  /** Watches `name` for a terminal record updated at or after `since`; returns the unsubscribe function. */
  watch(name: string, since: string, listener: CompletionListener): () => void {
    const sub: Subscription = { since, listener };
    let set = this.subs.get(name);
    if (!set) this.subs.set(name, (set = new Set()));
    set.add(sub);
    this.timer ??= setInterval(() => void this.poll(), this.pollMs).unref();
    return () => this.remove(name, sub);
  }

  /** Number of workspaces being watched. */
  get size(): number {
    return this.subs.size;
  }

  /** Stops listening and polling; pending watches are dropped. */
  close(): void {
    this.ctx.events.off('finished', this.onFinished);
    this.subs.clear();
    this.stopTimer();
  }

  private deliver(name: string, record: StatusRecord): void {
    if (!isSettled(record)) return;
    const set = this.subs.get(name);
    if (!set) return;
    for (const sub of [...set]) {
      if (record.updated_at < sub.since) continue;
      this.remove(name, sub);
      try {
        sub.listener(name, record);
      } catch (err) {
        this.ctx.logger.warn({ workspace: name, err: String(err) }, 'completion listener failed');
      }
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const name of [...this.subs.keys()]) {
        const record = await readRecord(this.ctx, name).catch(() => undefined);
        if (record) this.deliver(name, record);
      }
    } finally {
      this.polling = false;
    }
  }

  private remove(name: string, sub: Subscription): void {
    const set = this.subs.get(name);
    if (!set?.delete(sub) || set.size > 0) return;
    this.subs.delete(name);
    if (this.subs.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
