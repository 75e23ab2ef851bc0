import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Start time of a process as an opaque token (Linux: field 22 of /proc/<pid>/stat, in clock
 * ticks since boot; elsewhere `ps -o lstart`), or undefined when the process does not exist.
 * Together with the pid it identifies one process even after the pid is reused.
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (process.platform === 'linux') {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return undefined;
    }
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); a zombie has exited already.
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  }
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
    }).trim();
    return out === '' ? undefined : out;
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and, if `start` is given, is still the same process (not a reused pid). */
export function isProcessAlive(pid: number, start?: string): boolean {
  const now = processStartTime(pid);
  if (now === undefined) return false;
  return start === undefined || start === now;
}

/**
 * False when `owner` (`<host>:<pid>:…`, how leases name their holder) is a process on this host
 * that is gone; true otherwise, including for another host's process, which cannot be checked.
 */
export function ownerAlive(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== hostname() || pid === undefined || !/^\d+$/.test(pid)) return true;
  return isProcessAlive(Number(pid));
}

/**
 * A process group an agent may own: never 0 (kill(0) is the caller's own group) or 1 (kill(-1)
 * is every process the caller may signal), whatever a record or a bad spawn says.
 */
function agentGroup(pgid: number): boolean {
  return Number.isSafeInteger(pgid) && pgid > 1;
}

/** Sends `signal` to a whole process group; returns false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!agentGroup(pgid)) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True while any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  if (!agentGroup(pgid)) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** Process group id of a live process (Linux /proc; elsewhere `ps`), or undefined. */
export function processGroupOf(pid: number): number | undefined {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      return Number.isSafeInteger(pgrp) ? pgrp : undefined;
    } catch {
      return undefined;
    }
  }
  try {
    const out = Number(
      execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim(),
    );
    return Number.isSafeInteger(out) && out > 0 ? out : undefined;
  } catch {
    return undefined;
  }
}

/** A process identified by pid and start time (see {@link processStartTime}). */
export interface ProcessId {
  pid: number;
  start: string;
}

/**
 * The live processes of a process group, each with its start time (Linux: a scan of /proc;
 * elsewhere only the group leader, when it is alive). Zombies are left out.
 */
export function groupMembers(pgid: number): ProcessId[] {
  if (!agentGroup(pgid)) return [];
  if (process.platform !== 'linux') {
    const start = processStartTime(pgid);
    return start === undefined ? [] : [{ pid: pgid, start }];
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const members: ProcessId[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19] field 22 (start time).
    if (fields[0] === 'Z' || Number(fields[2]) !== pgid || fields[19] === undefined) continue;
    members.push({ pid: Number(entry), start: fields[19] });
  }
  return members;
}
