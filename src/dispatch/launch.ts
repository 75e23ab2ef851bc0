import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AgenticError } from '../lib/errors.js';
import { readTextIfExists } from '../lib/fs.js';
import { processStartTime } from '../lib/proc.js';
import type { AgentCommand } from './agents.js';

/**
 * The launch wrapper, run by /bin/sh as the leader of the agent's process group. It runs the
 * agent in the foreground and, whenever the agent ends, writes `.meta/exit.json` atomically —
 * even if the runner that started it is long gone. Traps (not ignores) TERM/INT/HUP so the
 * agent still gets default signal handling, and the wrapper survives to record the exit.
 */
const WRAPPER = `
exit_file=$1; shift
trap 'sig_seen=1' TERM INT HUP
"$@" </dev/null
code=$?
sig=null
if [ "$code" -gt 128 ]; then name=$(kill -l $((code - 128)) 2>/dev/null) && sig="\\"SIG$name\\""; fi
printf '{"exit_code":%d,"signal":%s,"ended_at":"%s"}\\n' "$code" "$sig" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$exit_file.tmp" && mv -f "$exit_file.tmp" "$exit_file"
exit "$code"
`;

/** The exit record the wrapper writes. */
export const exitRecordSchema = z.object({
  exit_code: z.number().int(),
  signal: z.string().nullable(),
  ended_at: z.string(),
});
/** A parsed `.meta/exit.json`. */
export type ExitRecord = z.infer<typeof exitRecordSchema>;

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
 * append to `log`. Throws SPAWN_FAILED when the process cannot be started.
 */
export async function launchAgent(
  workspace: string,
  command: AgentCommand,
  log: string,
  env: Record<string, string>,
): Promise<Launched> {
  mkdirSync(join(workspace, '.meta'), { recursive: true });
  const fd = openSync(log, 'a');
  try {
    const child = spawn(
      '/bin/sh',
      ['-c', WRAPPER, 'agentic-wrap', exitPath(workspace), ...command.argv],
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
  const text = readTextIfExists(exitPath(workspace));
  if (text === undefined) return undefined;
  try {
    const parsed = exitRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
