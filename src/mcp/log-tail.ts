import { readLogSlice, type LogSlice } from '../dispatch/log-slice.js';

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
  return tailLines(readLogSlice(path, undefined, TAIL_WINDOW_BYTES), count);
}

/**
 * The last `count` lines of a log's final bytes; when the slice starts after the log's first
 * byte, its first, partial line is dropped.
 */
export function tailLines(slice: LogSlice, count: number): LogTail {
  const all = slice.data.toString('utf8').split('\n');
  if (all.at(-1) === '') all.pop();
  if (slice.start > 0) all.shift();
  const lines = all.slice(-count);
  return { lines, truncated: slice.start > 0 || all.length > lines.length };
}
