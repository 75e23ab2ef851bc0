import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GROUPS } from '../../src/store/index.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';

const writer = join(import.meta.dirname, '..', 'fixtures', 'store-writer.mjs');

function runWriter(env: Record<string, string>, prefix: string, n: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, prefix, String(n)], {
      env: { ...process.env, ...env },
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', resolve);
  });
}

describe('several processes on one SQLite file', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => root.cleanup());

  it('loses nothing when two processes write the store at once', async () => {
    const n = 150;
    const codes = await Promise.all([
      runWriter(root.env, 'alpha', n),
      runWriter(root.env, 'beta', n),
    ]);
    expect(codes).toEqual([0, 0]);
    const ctx = testContext(root);
    const store = await ctx.store();
    expect(await store.count(GROUPS.registry)).toBe(2 * n);
    expect(await store.count(GROUPS.queue)).toBe(n);
    // Every running record was counted exactly once, even though both processes updated the same pool.
    expect(await store.get(GROUPS.concurrency, 'codex')).toMatchObject({ running: n });
    await ctx.close();
  });
});
