import {
  close,
  closeSync,
  existsSync,
  fdatasync,
  fstatSync,
  fsync,
  fsyncSync,
  futimes,
  futimesSync,
  mkdirSync,
  open,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  write,
  writeSync,
} from 'node:fs';
import type { ZodType } from 'zod';
import { mkdir, rename } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import { compactUtc } from './clock.js';

let tmpCounter = 0;

/**
 * Writes a file atomically: a temp file beside it, then rename. With `fsync` the data and the
 * directory entry reach the disk before it returns; `mtime` (a Date or seconds since the epoch) sets the file's times. Creates the
 * parent directory.
 */
export function writeFileAtomic(
  path: string,
  data: string,
  options: { fsync?: boolean; mtime?: Date | number } = {},
): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, data);
    if (options.mtime) futimesSync(fd, options.mtime, options.mtime);
    if (options.fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (options.fsync) fsyncDir(dirname(path));
}

/**
 * Removes a file (a missing one is fine) and fsyncs its directory, so the removal survives a
 * power cut as a durable write would. Other errors propagate.
 */
export function removeDurable(path: string): void {
  rmSync(path, { force: true });
  fsyncDir(dirname(path));
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

/** Reads a UTF-8 file, or returns undefined when it does not exist. Other errors propagate. */
export function readTextIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** Reads a JSON file checked by `schema`; undefined when it is absent, not JSON or does not match. */
export function readJsonIfValid<T>(path: string, schema: ZodType<T>): T | undefined {
  const text = readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Moves a bad file aside as `<file>.corrupt-<yyyymmddThhmmssZ>` and returns the new path. */
export function quarantineFile(path: string, now: Date): string {
  let target = `${path}.corrupt-${compactUtc(now)}`;
  for (let i = 1; existsSync(target); i++) target = `${path}.corrupt-${compactUtc(now)}-${i}`;
  renameSync(path, target);
  return target;
}

/** True when `err` is a Node system error with the given errno code. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/**
 * {@link writeFileAtomic} for callers that must not wait on the disk: every step runs on the
 * thread pool. Creating a file joins the filesystem's running journal transaction, and while
 * another fsync commits that transaction it waits (a third of a millisecond and more on ext4
 * under load), so even the open stays off the event loop. Many writes run in parallel (a batch
 * of mirrors or markers), and concurrent fsyncs share one filesystem commit.
 */
export async function writeFileAtomicAsync(
  path: string,
  data: string,
  options: { fsync?: boolean; mtime?: Date | number } = {},
): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  const fd = await openCreating(tmp, 'w');
  try {
    await writeAsync(fd, data);
    if (options.mtime !== undefined) await futimesAsync(fd, options.mtime, options.mtime);
    if (options.fsync) await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (options.fsync) await fsyncDirAsync(dirname(path));
}

/** {@link fsyncDir} on the thread pool. */
async function fsyncDirAsync(dir: string): Promise<void> {
  try {
    const fd = await openAsync(dir, 'r');
    try {
      await fsyncAsync(fd);
    } finally {
      await closeAsync(fd);
    }
  } catch {
    // As fsyncDir: the rename is atomic even where a directory cannot be fsynced.
  }
}

/**
 * Appends to a file (created with its directory if need be) and makes the data durable with
 * fdatasync before it resolves; every step on the thread pool.
 */
export async function appendDurable(path: string, data: string): Promise<void> {
  const fd = await openCreating(path, 'a');
  try {
    await writeAsync(fd, data);
    await fdatasyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}

/** Opens `path` on the thread pool, creating its parent directory when missing. */
async function openCreating(path: string, flags: 'w' | 'a'): Promise<number> {
  try {
    return await openAsync(path, flags, 0o644);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    await mkdir(dirname(path), { recursive: true });
    return openAsync(path, flags, 0o644);
  }
}

const openAsync = promisify(open);
const writeAsync = promisify(write) as (fd: number, data: string) => Promise<unknown>;
const futimesAsync = promisify(futimes);
const closeAsync = promisify(close);

/** The last `bytes` of a file as UTF-8 ('' when it cannot be opened: a log not written yet). */
export function readTail(path: string, bytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, bytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** fsync of an open descriptor on the thread pool. */
export const fsyncAsync = promisify(fsync);
/** fdatasync of an open descriptor on the thread pool. */
export const fdatasyncAsync = promisify(fdatasync);
