import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLockFile } from '../../src/lib/lock-file.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';

describe('queue lock file', () => {
  let root: TempRoot;
  let lock: string;
  beforeEach(() => {
    root = tempRoot();
    mkdirSync(join(root.coreRoot, 'sync'));
    lock = join(root.coreRoot, 'sync', 'queue.lock');
  });
  afterEach(() => root.cleanup());

  it('runs callbacks one at a time and removes the lock after', async () => {
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        withLockFile(lock, async () => {
          inside += 1;
          most = Math.max(most, inside);
          await new Promise((r) => setImmediate(r));
          inside -= 1;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(existsSync(lock)).toBe(false);
  });

  it('breaks a lock left by a dead process on this host', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const pid = Number(dead.stdout);
    writeFileSync(lock, JSON.stringify({ pid, host: hostname(), token: `${hostname()}:${pid}:x` }));
    expect(await withLockFile(lock, () => 'ran', { timeoutMs: 2_000 })).toBe('ran');
  });

  it('waits for a live holder and gives up with IO_FAILED after the timeout', async () => {
    writeFileSync(
      lock,
      JSON.stringify({
        pid: process.ppid,
        host: hostname(),
        token: `${hostname()}:${process.ppid}:y`,
      }),
    );
    await expect(withLockFile(lock, () => 'ran', { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'IO_FAILED',
    });
    expect(existsSync(lock)).toBe(true);
  });
});
