import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../lib/clock.js';
import { isoUtc } from '../lib/clock.js';
import { readJsonIfValid, writeFileAtomic } from '../lib/fs.js';
import { breakStale, createExclusive, readHolder, UNWRITTEN_MS } from '../lib/lock-file.js';
import { isProcessAlive, processStartTime } from '../lib/proc.js';

/** How often the holder refreshes its heartbeat. */
export const HEARTBEAT_MS = 2_000;
/** A lease whose heartbeat is older than this is stale even if its pid looks alive (a hung runner). */
export const STALE_MS = 15_000;

const leaseSchema = z.object({
  pid: z.number().int(),
  pid_start: z.string(),
  node: z.string(),
  heartbeat_at: z.string(),
  token: z.string(),
});
/** The content of `<CoreRoot>/runner.lock`. */
export type LeaseInfo = z.infer<typeof leaseSchema>;

/** Path of the runner lease file of a CoreRoot. */
export function leasePath(coreRoot: string): string {
  return join(coreRoot, 'runner.lock');
}

/** Reads the lease; undefined when there is none or it is unreadable. */
export function readLease(coreRoot: string): LeaseInfo | undefined {
  return readJsonIfValid(leasePath(coreRoot), leaseSchema);
}

/** True when a live runner holds the lease of this CoreRoot. */
export function leaseHeld(coreRoot: string, now: Date): boolean {
  const lease = readLease(coreRoot);
  return lease !== undefined && !isStale(lease, now);
}

function isStale(lease: LeaseInfo, now: Date): boolean {
  if (!isProcessAlive(lease.pid, lease.pid_start)) return true;
  return now.getTime() - Date.parse(lease.heartbeat_at) > STALE_MS;
}

/**
 * The runner lease of one CoreRoot (docs/ARCHITECTURE.md): created with O_EXCL; a stale one (dead
 * holder, or a heartbeat older than 15 s) is taken over through the lock-file protocol of
 * lib/lock-file. The holder re-checks ownership on every heartbeat and reports loss through
 * `onLost`.
 */
export class RunnerLease {
  private timer: NodeJS.Timeout | undefined;
  private readonly info: LeaseInfo;

  private constructor(
    private readonly coreRoot: string,
    private readonly clock: Clock,
    node: string,
  ) {
    this.info = {
      pid: process.pid,
      pid_start: processStartTime(process.pid) ?? '',
      node,
      heartbeat_at: isoUtc(clock.now()),
      token: `${process.pid}-${Math.random().toString(36).slice(2)}`,
    };
  }

  /** Takes the lease, or returns undefined when a live runner holds it. */
  static tryAcquire(coreRoot: string, clock: Clock, node: string): RunnerLease | undefined {
    const lease = new RunnerLease(coreRoot, clock, node);
    return lease.acquire() ? lease : undefined;
  }

  private acquire(): boolean {
    const path = leasePath(this.coreRoot);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (createExclusive(path, JSON.stringify(this.info))) return true;
      const seen = readHolder(path);
      if (seen === undefined) continue; // released between our create and our read
      const current = readLease(this.coreRoot);
      if (current === undefined) {
        // Not a lease (yet): a contender between its create and its write, unless it is old.
        if (Date.now() - seen.mtimeMs <= UNWRITTEN_MS) return false;
      } else if (!isStale(current, this.clock.now())) return false;
      // Only the lease seen here is removed: a contender that saw the same stale lease and
      // already replaced it with its own keeps it, and this one then finds that fresh lease.
      breakStale(path, seen);
    }
    return false;
  }

  /** Starts the heartbeat; `onLost` runs once if another process took the lease. */
  startHeartbeat(onLost: () => void): void {
    this.timer = setInterval(() => {
      const current = readLease(this.coreRoot);
      if (current?.token !== this.info.token) {
        this.stopHeartbeat();
        onLost();
        return;
      }
      this.info.heartbeat_at = isoUtc(this.clock.now());
      writeFileAtomic(leasePath(this.coreRoot), JSON.stringify(this.info));
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the heartbeat and removes the lease if it is still ours. */
  release(): void {
    this.stopHeartbeat();
    if (readLease(this.coreRoot)?.token === this.info.token)
      rmSync(leasePath(this.coreRoot), { force: true });
  }
}
