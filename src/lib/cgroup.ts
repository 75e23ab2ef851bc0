import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { processStartTime, type ProcessId } from './proc.js';

/**
 * cgroup v2 containment of agent runs. The launch wrapper moves itself into
 * `<base>/<its pid>` before it starts the agent, so every process the agent starts stays in that
 * cgroup — also one that left the process group with `setsid`, which a signal to the group
 * misses. Killing the run then means killing the cgroup. The base is a folder `agentic` under
 * this process's own cgroup on the first cgroup2 mount that lets us create folders (root, or a
 * delegated subtree such as a systemd user scope); elsewhere there is none and the process
 * group is all there is.
 */

let cached: { base: string | undefined } | undefined;

/** The folder per-run cgroups are created in, or undefined where cgroup v2 cannot be used. */
export function cgroupBase(): string | undefined {
  if (cached === undefined) cached = { base: findBase() };
  return cached.base;
}

function findBase(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  let own: string | undefined;
  let mounts: string[];
  try {
    own = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
      ?.slice(3);
    mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.split(' - ')[1]?.startsWith('cgroup2 '))
      .map((l) => unescapeMount(l.split(' ')[4] ?? ''));
  } catch {
    return undefined;
  }
  if (own === undefined) return undefined;
  for (const mount of mounts) {
    const base = join(mount, own, 'agentic');
    try {
      mkdirSync(base, { recursive: true });
      // Creating a child proves we may: root, or a subtree delegated to us.
      const probe = join(base, `probe-${process.pid}`);
      mkdirSync(probe);
      rmdirSync(probe);
      if (existsSync(join(base, 'cgroup.procs'))) return base;
    } catch {
      // read-only or not ours: try the next mount
    }
  }
  return undefined;
}

/** mountinfo writes space, tab, newline and backslash in paths as octal escapes. */
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The cgroup of the run whose wrapper (process group leader) is `pgid`, if it exists. */
export function runCgroup(pgid: number): string | undefined {
  const base = cgroupBase();
  if (base === undefined || !Number.isSafeInteger(pgid) || pgid <= 1) return undefined;
  const dir = join(base, String(pgid));
  return existsSync(dir) ? dir : undefined;
}

/** The live processes in a run's cgroup, each with its start time. */
export function cgroupMembers(pgid: number): ProcessId[] {
  const dir = runCgroup(pgid);
  if (dir === undefined) return [];
  let text: string;
  try {
    text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return [];
  }
  const members: ProcessId[] = [];
  for (const line of text.split('\n')) {
    const pid = Number(line);
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    const start = processStartTime(pid);
    if (start !== undefined) members.push({ pid, start });
  }
  return members;
}

/** Sends `signal` to every process in a run's cgroup (SIGKILL through `cgroup.kill` where the kernel has it); false when there is no such cgroup. */
export function signalCgroup(pgid: number, signal: NodeJS.Signals): boolean {
  const dir = runCgroup(pgid);
  if (dir === undefined) return false;
  if (signal === 'SIGKILL') {
    try {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
      return true;
    } catch {
      // before Linux 5.14: one by one below
    }
  }
  for (const m of cgroupMembers(pgid)) {
    try {
      process.kill(m.pid, signal);
    } catch {
      // exited meanwhile
    }
  }
  return true;
}

/**
 * Removes the cgroups of runs that are over: no process left in them and their wrapper (whose
 * pid names the cgroup) gone — a wrapper that has just created its cgroup is alive, so its
 * cgroup is never removed before it moved in. A cgroup with processes cannot be removed anyway.
 */
export function removeEndedCgroups(): void {
  const base = cgroupBase();
  if (base === undefined) return;
  let entries: string[];
  try {
    entries = readdirSync(base).filter((e) => /^\d+$/.test(e));
  } catch {
    return;
  }
  for (const entry of entries) {
    if (processStartTime(Number(entry)) !== undefined) continue;
    try {
      rmdirSync(join(base, entry));
    } catch {
      // still has processes, or removed by another runner
    }
  }
}
