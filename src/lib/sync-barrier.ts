/**
 * Group commit for fsync: `request()` resolves once a sync that STARTED after the request has
 * finished, and requests that arrive while one sync runs share the next one. So any number of
 * writers pay one fsync per round, on the thread pool, instead of one each on the caller's
 * thread. A failed sync rejects exactly the requests it was to cover.
 */
export class SyncBarrier {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly sync: () => Promise<void>) {}

  request(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    this.queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<void> {
    const run: Promise<void> = this.sync().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
