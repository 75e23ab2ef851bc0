import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isErrno } from '../lib/fs.js';

/** Bytes read from the end of a log at most: enough for thousands of lines, bounded for huge logs. */
export const TAIL_WINDOW_BYTES = 1 << 20;

/** The last lines of a log and whether earlier ones were left out. */
export interface LogTail {
  lines: string[];
  truncated: boolean;
}

/**
 * The last `count` lines of a text file (a missing file has none). Reads at most the final
 * {@link TAIL_WINDOW_BYTES}; a partial first line of that window is dropped. Other I/O errors throw.
 */
export function readLogTail(path: string, count: number): LogTail {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { lines: [], truncated: false };
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_WINDOW_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const all = buf.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    if (len < size) all.shift();
    const lines = all.slice(-count);
    return { lines, truncated: len < size || all.length > lines.length };
  } finally {
    closeSync(fd);
  }
}
