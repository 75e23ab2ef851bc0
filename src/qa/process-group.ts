import { readdirSync, readFileSync } from 'node:fs';
import { groupAlive, signalGroup } from '../lib/proc.js';

/**
 * True while a process of group `pgid` is alive. Zombies do not count: a check's orphaned
 * children are re-parented to PID 1, and where PID 1 does not reap them (some containers) a
 * zombie would look alive to `kill(-pgid, 0)` forever.
 */
export function groupLive(pgid: number): boolean {
  if (!groupAlive(pgid)) return false;
  if (process.platform !== 'linux') return true;
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name: state, ppid, pgrp, …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}

/**
 * Ends a process group: SIGTERM (when `term`), then SIGKILL to whatever is still alive once
 * `graceMs` is over; resolves when the group is gone or 5 s after the SIGKILL.
 */
export async function killGroup(pgid: number, graceMs: number, term: boolean): Promise<void> {
  if (!groupLive(pgid)) return;
  if (term) signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupLive(pgid) && Date.now() < deadline) await delay(25);
  if (!groupLive(pgid)) return;
  signalGroup(pgid, 'SIGKILL');
  const gone = Date.now() + 5000;
  while (groupLive(pgid) && Date.now() < gone) await delay(25);
}

function delay(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}
