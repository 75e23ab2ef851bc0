import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { cgroupMembers, removeEndedCgroups, signalCgroup } from '../lib/cgroup.js';
import { isoUtc } from '../lib/clock.js';
import { readJsonIfValid, writeFileAtomic } from '../lib/fs.js';
import type { Logger } from '../lib/logger.js';
import {
  groupAlive,
  groupMembers,
  isProcessAlive,
  processGroupOf,
  signalGroup,
} from '../lib/proc.js';

/**
 * A process group sent SIGTERM, and when it gets SIGKILL: kept on disk, so that a runner that
 * stops (or a CLI that exits) within the grace period does not let a process that ignores
 * SIGTERM live on. The members are those found when SIGTERM was sent, with their start times:
 * a group is killed only while one of them is alive and still in it, never a group that took
 * a reused id.
 */
const reapEntrySchema = z.object({
  pgid: z.number().int(),
  workspace: z.string(),
  reason: z.string(),
  deadline: z.string(),
  members: z.array(z.object({ pid: z.number().int(), start: z.string() })),
});
type ReapEntry = z.infer<typeof reapEntrySchema>;

/** `<CoreRoot>/runtime/reap/`: one `<pgid>.json` per process group awaiting its SIGKILL deadline. */
export function reapDir(coreRoot: string): string {
  return join(coreRoot, 'runtime', 'reap');
}

/** True when a SIGTERM to `pgid` was recorded here and its group has not been forgotten yet. */
export function terminationRecorded(coreRoot: string, pgid: number): boolean {
  return existsSync(join(reapDir(coreRoot), `${pgid}.json`));
}

/** What {@link terminateGroup} needs to know. */
export interface TerminateOptions {
  coreRoot: string;
  graceSeconds: number;
  now: Date;
  workspace: string;
  /** Why: timeout, cancel, operator, run ended, ghost. */
  reason: string;
  /** Where a failure to record the deadline is reported. */
  logger?: Logger | undefined;
}

/**
 * Sends SIGTERM to a process group after recording, durably, the deadline at which whatever is
 * left of it gets SIGKILL ({@link enforceReapDeadlines}, run by every runner and by `agentic
 * kill` without one). Returns false when the group is already gone.
 */
export function terminateGroup(pgid: number, options: TerminateOptions): boolean {
  // The cgroup also holds what left the group with setsid; without one, the group is all.
  const contained = cgroupMembers(pgid);
  if (!groupAlive(pgid) && contained.length === 0) return false;
  const members = groupMembers(pgid);
  for (const m of contained) if (!members.some((g) => g.pid === m.pid)) members.push(m);
  if (members.length > 0) {
    const entry: ReapEntry = {
      pgid,
      workspace: options.workspace,
      reason: options.reason,
      deadline: isoUtc(new Date(options.now.getTime() + options.graceSeconds * 1000)),
      members,
    };
    try {
      writeFileAtomic(join(reapDir(options.coreRoot), `${pgid}.json`), JSON.stringify(entry), {
        fsync: true,
      });
    } catch (err) {
      // The SIGTERM matters more than its record: only the SIGKILL after a restart is lost.
      options.logger?.error(
        { workspace: options.workspace, pgid, err: String(err) },
        'cannot record the SIGKILL deadline of a process group; sending SIGTERM anyway',
      );
    }
  }
  signalGroup(pgid, 'SIGTERM');
  signalCgroup(pgid, 'SIGTERM');
  return true;
}

/** What one pass of {@link enforceReapDeadlines} found. */
export interface ReapPass {
  /** Groups with a live member whose deadline has not come yet. */
  waiting: number;
  /** Groups sent SIGKILL in this pass. */
  killed: number;
}

/**
 * One pass over the recorded deadlines: a group none of whose recorded members is alive is
 * forgotten; one past its deadline gets SIGKILL (the group, its cgroup, and each recorded
 * member still alive, in case it moved to a group of its own); the rest wait. `pgids` limits
 * the pass. The cgroups of runs that are over are removed on the way.
 */
export function enforceReapDeadlines(
  coreRoot: string,
  now: Date,
  logger: Logger,
  pgids?: ReadonlySet<number>,
): ReapPass {
  const dir = reapDir(coreRoot);
  const pass: ReapPass = { waiting: 0, killed: 0 };
  removeEndedCgroups();
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return pass; // no directory: nothing was ever recorded
  }
  for (const file of files) {
    if (pgids !== undefined && !pgids.has(Number(file.slice(0, -'.json'.length)))) continue;
    const path = join(dir, file);
    const entry = readJsonIfValid(path, reapEntrySchema);
    const alive = entry?.members.filter((m) => isProcessAlive(m.pid, m.start)) ?? [];
    if (entry === undefined || alive.length === 0) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.parse(entry.deadline) > now.getTime()) {
      pass.waiting += 1;
      continue;
    }
    if (alive.some((m) => processGroupOf(m.pid) === entry.pgid)) signalGroup(entry.pgid, 'SIGKILL');
    signalCgroup(entry.pgid, 'SIGKILL');
    for (const m of alive) {
      try {
        process.kill(m.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    pass.killed += 1;
    logger.warn(
      {
        workspace: entry.workspace,
        pgid: entry.pgid,
        reason: entry.reason,
        pids: alive.map((m) => m.pid),
      },
      'SIGKILL to what was left of an agent process group after its grace period',
    );
  }
  return pass;
}
