import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { readTail } from '../lib/fs.js';
import type { QaCheck } from './detect.js';
import { findExecutable } from '../lib/executable.js';
import { cleanOutput, lastLines } from './output-text.js';
import { killGroup } from './process-group.js';
import type { CheckStatus } from './report-schema.js';

/** Most of stdout kept in memory for a parser; beyond it the output is not parsed. */
const MAX_PARSE_BYTES = 32 * 1024 * 1024;
/** How much of the output the report keeps. */
const TAIL_CHARS = 4000;
/** How long to wait for the output pipes after the process group is gone. */
const PIPE_DRAIN_MS = 2000;
/** setTimeout's limit (about 24.8 days); a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Seconds the `timeout` backstop waits past the check's own timeout before it acts. */
const BACKSTOP_EXTRA_SECONDS = 5;

/** How one check ran. */
export interface CheckRun {
  status: CheckStatus;
  exitCode: number | null;
  durationMs: number;
  /** The log file, or null when nothing was started. */
  logPath: string | null;
  outputTail: string;
  /** Its stdout, kept only for checks whose output is parsed (undefined when too large or not kept). */
  stdout: string | undefined;
  note?: string;
}

/** Where and how a check runs. */
export interface RunCheckOptions {
  cwd: string;
  env: Readonly<Record<string, string>>;
  logPath: string;
  /** Between SIGTERM and SIGKILL to the check's process group. */
  killGraceMs: number;
  /** Path of coreutils `timeout`, used as a backstop that kills the check even if this process dies. */
  timeoutProgram: string | undefined;
  now: () => Date;
  /** Aborting kills the running check's group; runCheck then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Runs one check: its argv (never a shell) in its own process group, stdin ignored, stdout and
 * stderr into `logPath`. Past its timeout the group gets SIGTERM, then SIGKILL after the grace;
 * whatever the check leaves running in its group when it exits is killed the same way. A
 * program that is not installed comes back `skipped`. Never throws for the check's own faults;
 * rejects with the abort reason when `signal` aborts.
 */
export async function runCheck(check: QaCheck, options: RunCheckOptions): Promise<CheckRun> {
  const started = options.now().getTime();
  const elapsed = (): number => Math.max(0, options.now().getTime() - started);
  const program = check.run[0] ?? '';
  const notInstalled = (): CheckRun => ({
    status: 'skipped',
    exitCode: null,
    durationMs: elapsed(),
    logPath: null,
    outputTail: '',
    stdout: undefined,
    note: `${program} is not installed (not found on PATH)`,
  });
  if (findExecutable(program, options.env.PATH, { cwd: options.cwd }) === undefined)
    return notInstalled();

  const argv = options.timeoutProgram
    ? [
        options.timeoutProgram,
        '-k',
        String(Math.max(1, Math.ceil(options.killGraceMs / 1000))),
        String(Math.ceil(check.timeout_seconds + BACKSTOP_EXTRA_SECONDS)),
        ...check.run,
      ]
    : [...check.run];
  mkdirSync(dirname(options.logPath), { recursive: true });
  const log = openSync(options.logPath, 'w', 0o644);
  const stdoutChunks: Buffer[] = [];
  let stdoutBytes = 0;
  const keepStdout = check.parse !== 'none';
  let timedOut = false;
  let ended: { code: number | null; error?: NodeJS.ErrnoException };
  try {
    options.signal?.throwIfAborted();
    const child = spawnOrError(argv, options);
    if (child instanceof Error) {
      ended = { code: null, error: child };
    } else {
      child.stdout.on('data', (chunk: Buffer) => {
        writeSync(log, chunk);
        stdoutBytes += chunk.length;
        if (keepStdout && stdoutBytes <= MAX_PARSE_BYTES) stdoutChunks.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => writeSync(log, chunk));
      const closed = new Promise<void>((res) => child.once('close', () => res()));
      const pgid = child.pid;
      const stop = (): void => {
        if (pgid !== undefined) void killGroup(pgid, options.killGraceMs, true);
      };
      const timer = setTimeout(
        () => {
          timedOut = true;
          stop();
        },
        Math.min(check.timeout_seconds * 1000, MAX_TIMER_MS),
      );
      options.signal?.addEventListener('abort', stop, { once: true });
      try {
        ended = await new Promise((res) => {
          child.once('error', (error: NodeJS.ErrnoException) => res({ code: null, error }));
          child.once('exit', (code) => res({ code }));
        });
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', stop);
      }
      // Whatever the check left behind in its group (a server, a watcher) goes with it.
      if (pgid !== undefined) await killGroup(pgid, options.killGraceMs, !timedOut);
      await within(closed, PIPE_DRAIN_MS);
      child.stdout.destroy();
      child.stderr.destroy();
    }
  } finally {
    closeSync(log);
  }
  options.signal?.throwIfAborted();
  if (ended.error?.code === 'ENOENT') return notInstalled();

  const outputTail = lastLines(
    cleanOutput(readTail(options.logPath, TAIL_CHARS * 2)),
    TAIL_CHARS,
    200,
  );
  const base = {
    exitCode: ended.code,
    durationMs: elapsed(),
    logPath: options.logPath,
    outputTail,
    stdout:
      keepStdout && stdoutBytes <= MAX_PARSE_BYTES
        ? Buffer.concat(stdoutChunks).toString('utf8')
        : undefined,
  };
  const notes: string[] = [];
  if (keepStdout && stdoutBytes > MAX_PARSE_BYTES) notes.push('output too large to parse');
  if (ended.error) {
    notes.unshift(`could not start ${program}: ${ended.error.message}`);
    return { ...base, status: 'failed', note: notes.join('; ') };
  }
  if (timedOut) {
    notes.unshift(`timed out after ${check.timeout_seconds} s`);
    return { ...base, status: 'timeout', note: notes.join('; ') };
  }
  const ok = (check.okExitCodes ?? [0]).includes(ended.code ?? -1);
  return {
    ...base,
    status: ok ? 'passed' : 'failed',
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

/** Spawns the check detached (its own process group); a synchronous spawn error comes back as a value. */
function spawnOrError(
  argv: readonly string[],
  options: RunCheckOptions,
): ChildProcessByStdio<null, Readable, Readable> | NodeJS.ErrnoException {
  try {
    return spawn(argv[0] ?? '', argv.slice(1), {
      cwd: options.cwd,
      env: { ...options.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Waits for `promise`, at most `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((res) => (timer = setTimeout(res, ms)))]);
  clearTimeout(timer);
}
