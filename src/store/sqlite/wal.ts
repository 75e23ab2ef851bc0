import { closeSync, fsyncSync, openSync } from 'node:fs';
import { fsyncAsync, isErrno } from '../../lib/fs.js';

/**
 * A read-only descriptor of the WAL, for fsync (Linux accepts it on one). The WAL exists while
 * a connection is open; should it not, its frames were checkpointed into the database file,
 * which is synced instead. Opening is no disk wait; the fsync is.
 */
function openWal(dbPath: string): number {
  try {
    return openSync(`${dbPath}-wal`, 'r');
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    return openSync(dbPath, 'r');
  }
}

/** Fsyncs the WAL (or the database file, when there is no WAL) in place. */
export function fsyncWalSync(dbPath: string): void {
  const fd = openWal(dbPath);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** {@link fsyncWalSync} with the fsync on the thread pool. */
export async function fsyncWal(dbPath: string): Promise<void> {
  const fd = openWal(dbPath);
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}
