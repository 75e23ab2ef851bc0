import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isErrno } from '../lib/fs.js';

/**
 * Most bytes of a log one answer carries from the owning node through the shared store: enough
 * for thousands of lines, small enough that a busy fleet's store never holds large logs.
 */
export const LOG_SLICE_MAX_BYTES = 256 * 1024;

/** Bytes of a log file: `data` starts at byte `start`; `size` is the file's size when read. */
export interface LogSlice {
  data: Buffer;
  start: number;
  size: number;
}

/**
 * Reads at most `maxBytes` of a log from byte `from`, or its last `maxBytes` when `from` is
 * undefined. A missing file reads as empty (size 0); other I/O errors throw.
 */
export function readLogSlice(path: string, from: number | undefined, maxBytes: number): LogSlice {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { data: Buffer.alloc(0), start: 0, size: 0 };
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.min(size, from ?? Math.max(0, size - maxBytes));
    const data = Buffer.alloc(Math.min(maxBytes, size - start));
    const read = readSync(fd, data, 0, data.length, start);
    return { data: data.subarray(0, read), start, size };
  } finally {
    closeSync(fd);
  }
}
