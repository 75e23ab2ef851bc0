import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AgenticError } from '../lib/errors.js';
import { readJsonIfValid, readTail } from '../lib/fs.js';
import { cgroupBase } from '../lib/cgroup.js';
import { processStartTime } from '../lib/proc.js';
import type { AgentCommand } from './agents.js';
import { markRunLog } from './agent-usage.js';
import type { RunEnd } from './run-end.js';

/**
 * The launch wrapper, run by /bin/sh as the leader of the agent's process group. Before the
 * agent starts it writes `.meta/launch.json` (its pid and run number), so a runner killed
 * between spawn and recording the pid still finds the agent at restart. It runs the agent in
 * the foreground and, whenever the agent ends, writes `.meta/exit.json` — even if the runner
 * that started it is long gone. It traps (not ignores) TERM/INT/HUP so the agent keeps default
 * signal handling and the wrapper survives to record the exit. The traps come first and the
 * agent starts only if none fired: a SIGTERM that reaches the group before the agent exists
 * (a cancel right after the pid was recorded) would otherwise be absorbed by the trap and the
 * agent would run until the SIGKILL deadline; such a run ends with 128 + the signal. Each file is one short write by
 * a shell builtin, no `mv` (a process per file, ~2 ms of CPU): readers take a file they cannot
 * parse for an absent one, and read exit.json as final only once the wrapper's pid is gone or
 * it parses. Only the exit statuses of the signals that end processes (HUP, INT, QUIT, ABRT,
 * BUS, FPE, KILL, SEGV, PIPE, ALRM, TERM) are read as a signal: a CLI may exit 144 or 173 by
 * itself (gemini does). The agent's stdin is the command's `stdin` file (the prompt) or /dev/null.
 * Where cgroup v2 can be used, the wrapper first moves itself into `<cgroup base>/<its pid>`, so
 * everything the agent starts — even a process that leaves the group with `setsid` — stays
 * where a kill finds it (src/lib/cgroup.ts).
 */
export const WRAPPER = `
stopped=
trap 'stopped=143' TERM; trap 'stopped=130' INT; trap 'stopped=129' HUP
meta=$1; run=$2; input=$3; cg=$4; shift 4
if [ -n "$cg" ] && mkdir -p "$cg/$$" 2>/dev/null; then echo $$ > "$cg/$$/cgroup.procs" 2>/dev/null; fi
printf '{"pid":%d,"run":%d}\\n' "$$" "$run" > "$meta/launch.json"
if [ -z "$stopped" ]; then "$@" <"$input"; code=$?; else code=$stopped; fi
sig=null
case $code in 129|130|131|134|135|136|137|139|141|142|143) name=$(kill -l $((code - 128)) 2>/dev/null) && sig="\\"SIG$name\\"";; esac
printf '{"exit_code":%d,"signal":%s,"run":%d}\\n' "$code" "$sig" "$run" > "$meta/exit.json"
exit "$code"
`;

/** The exit record the wrapper writes. */
export const exitRecordSchema = z.object({
  exit_code: z.number().int(),
  signal: z.string().nullable(),
  run: z.number().int().optional(),
});
/** A parsed `.meta/exit.json`; `ended_at` is the file's mtime (the wrapper spawns no `date`). */
export type ExitRecord = z.infer<typeof exitRecordSchema> & { ended_at: string };

/** What the wrapper writes as it starts: `.meta/launch.json`. */
export const launchRecordSchema = z.object({
  pid: z.number().int().positive(),
  run: z.number().int(),
});
/** A parsed `.meta/launch.json`; `started_at` is the file's mtime. */
export type LaunchRecord = z.infer<typeof launchRecordSchema> & { started_at: string };

/** A started agent: the wrapper's pid (also the process group id) and its start-time token. */
export interface Launched {
  pid: number;
  pidStart: string;
  /** Resolves with the wrapper's exit code once it ends (only for agents this process started). */
  exited: Promise<number | null>;
}

/** Path of a workspace's exit.json. */
export function exitPath(workspace: string): string {
  return join(workspace, '.meta', 'exit.json');
}

/** Path of a pool's agent log in a workspace. */
export function logPath(workspace: string, pool: string): string {
  return join(workspace, '.meta', `agent-${pool}.log`);
}

/**
 * Starts `command` detached, in its own process group, through the wrapper; stdout and stderr
 * append to `log`; `run` is the run number the wrapper records. Throws SPAWN_FAILED when the
 * process cannot be started.
 */
export async function launchAgent(
  workspace: string,
  command: AgentCommand,
  log: string,
  env: Record<string, string>,
  run: number,
): Promise<Launched> {
  const meta = join(workspace, '.meta');
  mkdirSync(meta, { recursive: true });
  // A previous run's records must never be mistaken for this one's.
  rmSync(exitPath(workspace), { force: true });
  rmSync(join(meta, 'launch.json'), { force: true });
  // The log keeps every run's output: the finish reads this run's usage from where it starts.
  markRunLog(workspace, log, run);
  const fd = openSync(log, 'a');
  try {
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        WRAPPER,
        'agentic-wrap',
        meta,
        String(run),
        command.stdin ?? '/dev/null',
        cgroupBase() ?? '',
        ...command.argv,
      ],
      {
        cwd: command.cwd,
        env: { ...env, ...command.env },
        detached: true,
        stdio: ['ignore', fd, fd],
      },
    );
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? -1));
      child.once('error', (err) =>
        reject(
          new AgenticError('SPAWN_FAILED', `cannot start agent: ${err.message}`, { cause: err }),
        ),
      );
    });
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.unref();
    const pidStart = processStartTime(pid);
    if (pidStart === undefined) {
      // Ended before we could look: the exit.json tells the rest.
      return { pid, pidStart: '', exited };
    }
    return { pid, pidStart, exited };
  } finally {
    closeSync(fd);
  }
}

/** Reads `.meta/exit.json`; undefined when absent or unreadable (a torn write cannot happen: it is renamed into place). */
export function readExitRecord(workspace: string): ExitRecord | undefined {
  const read = readJson(exitPath(workspace), exitRecordSchema);
  return read && { ...read.value, ended_at: read.mtime };
}

/**
 * How a run whose agent is gone ended, from its `.meta/exit.json`: exited with its code and
 * signal, or vanished when there is no exit record (or, given `runs`, only another run's).
 */
export function runEndFromExit(workspace: string, runs?: number): RunEnd {
  const exit = readExitRecord(workspace);
  if (!exit || (runs !== undefined && exit.run !== undefined && exit.run !== runs))
    return { kind: 'vanished' };
  return {
    kind: 'exited',
    exitCode: exit.exit_code,
    signal: exit.signal,
    endedAt: new Date(exit.ended_at),
  };
}

/** Reads `.meta/launch.json`; undefined when absent or unreadable. */
export function readLaunchRecord(workspace: string): LaunchRecord | undefined {
  const read = readJson(join(workspace, '.meta', 'launch.json'), launchRecordSchema);
  return read && { ...read.value, started_at: read.mtime };
}

/** A JSON file checked by `schema` (see readJsonIfValid), with its mtime: when it was written. */
function readJson<T>(path: string, schema: z.ZodType<T>): { value: T; mtime: string } | undefined {
  const value = readJsonIfValid(path, schema);
  const stat = value === undefined ? undefined : statSync(path, { throwIfNoEntry: false });
  return value === undefined || stat === undefined
    ? undefined
    : { value, mtime: stat.mtime.toISOString() };
}

/** The last non-empty line of a log file ('' when none). */
export function lastLogLine(path: string): string {
  return (
    readTail(path, 4096)
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? ''
  );
}
