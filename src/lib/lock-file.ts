import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AgenticError } from './errors.js';
import { isErrno } from './fs.js';
import { Mutex } from './mutex.js';
import { isProcessAlive } from './proc.js';

/** Options of {@link withLockFile}. */
export interface LockFileOptions {
  /** Give up with IO_FAILED after waiting this long (default 30 s). */
  timeoutMs?: number;
  /** A lock older than this is taken to be abandoned whoever holds it (default 60 s; holders keep it for milliseconds). */
  staleMs?: number;
  /** What the lock guards, for the timeout message (default `lock`). */
  name?: string;
}

/**
 * Who a lock file names, as far as it can be read: the JSON fields `token`, `pid` and `host`
 * (undefined when missing or the file is not JSON yet) and the file's mtime.
 */
export interface LockHolder {
  token: string | undefined;
  pid: number | undefined;
  host: string | undefined;
  mtimeMs: number;
}

const HOST = hostname();
const inProcess = new Map<string, Mutex>();

/**
 * Runs `fn` while holding an exclusive lock file (created with O_EXCL) that serialises
 * processes on one machine. A lock whose holder on this host is dead, or that is older than
 * `staleMs`, is broken (under a second `.break` lock so two breakers cannot remove a fresh
 * lock). Calls in one process queue on a mutex first. Throws IO_FAILED after `timeoutMs`.
 */
export async function withLockFile<T>(
  path: string,
  fn: () => Promise<T> | T,
  options: LockFileOptions = {},
): Promise<T> {
  let mutex = inProcess.get(path);
  if (mutex === undefined) inProcess.set(path, (mutex = new Mutex()));
  return mutex.run(async () => {
    const token = await acquire(path, options);
    try {
      return await fn();
    } finally {
      if (readHolder(path)?.token === token) rmSync(path, { force: true });
    }
  });
}

async function acquire(path: string, options: LockFileOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 60_000;
  const token = `${HOST}:${process.pid}:${randomBytes(6).toString('hex')}`;
  const content = JSON.stringify({ pid: process.pid, host: HOST, token });
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  for (;;) {
    if (createExclusive(path, content)) return token;
    const holder = readHolder(path);
    if (holder === undefined) continue; // released between our open and our read
    if (isStale(holder, staleMs)) {
      breakStale(path, holder);
      continue;
    }
    if (Date.now() > deadline) {
      throw new AgenticError(
        'IO_FAILED',
        `${options.name ?? 'lock'} ${path} is held by pid ${holder.pid ?? '?'} on ${holder.host ?? '?'}; ` +
          'if no agentic process is running, remove the file',
      );
    }
    await delay(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 50);
  }
}

/** Creates `path` with `content` unless it exists (O_EXCL); false when it does. */
export function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Reads who holds the lock file at `path`; undefined when there is none. */
export function readHolder(path: string): LockHolder | undefined {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; host?: unknown; token?: unknown };
    return {
      token: typeof parsed.token === 'string' ? parsed.token : undefined,
      pid: typeof parsed.pid === 'number' ? parsed.pid : undefined,
      host: typeof parsed.host === 'string' ? parsed.host : undefined,
      mtimeMs,
    };
  } catch {
    return { token: undefined, pid: undefined, host: undefined, mtimeMs };
  }
}

/**
 * A lock file without content is a contender between its create and its write (microseconds),
 * unless it is older than this: then a crash left it half-written and it may be broken.
 */
export const UNWRITTEN_MS = 2_000;

function isStale(holder: LockHolder, staleMs: number): boolean {
  const age = Date.now() - holder.mtimeMs;
  // No content yet: a holder is between create and write (microseconds) or crashed there.
  if (holder.token === undefined) return age > UNWRITTEN_MS;
  if (age > staleMs) return true;
  if (holder.host !== HOST || holder.pid === undefined) return false;
  // Our own pid with a foreign token is a dead predecessor that had the same pid: this process
  // holds the in-process mutex, so it cannot be holding the file itself.
  return holder.pid === process.pid || !isProcessAlive(holder.pid);
}

/**
 * Removes the lock file at `path` if it is still the one `holder` describes (same token, or for
 * a file without one the same mtime), under a second `<path>.break` lock: two contenders that
 * saw the same stale lock cannot both break it, so the second never removes the fresh lock the
 * first created meanwhile. Returns without removing anything when another breaker is at work;
 * the caller tries to create the lock again either way.
 */
export function breakStale(path: string, holder: LockHolder): void {
  const breaker = `${path}.break`;
  const me = JSON.stringify({ pid: process.pid, host: HOST, token: `${HOST}:${process.pid}` });
  if (!createExclusive(breaker, me)) {
    // A breaker killed between its two steps leaves this file behind. A live breaker is a
    // contender about to take the lock; a dead one's file is removed at once (a runner
    // restarted right after such a kill must not refuse to start), anyone's after 10 s.
    const other = readHolder(breaker);
    if (other === undefined || !isStale(other, 10_000)) return;
    rmSync(breaker, { force: true });
    if (!createExclusive(breaker, me)) return;
  }
  try {
    const again = readHolder(path);
    const same =
      again !== undefined &&
      (holder.token !== undefined
        ? again.token === holder.token
        : again.token === undefined && again.mtimeMs === holder.mtimeMs);
    if (same) rmSync(path, { force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
}
