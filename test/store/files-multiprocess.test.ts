import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { openFileStore } from '../../src/store/files/engine.js';
import { GROUPS, type StateStore } from '../../src/store/index.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'state-rmw.mjs');

function run(coreRoot: string, n: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, coreRoot, String(n)], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', resolve);
  });
}

describe('several processes on one file store', () => {
  let root: TempRoot;
  let store: StateStore;
  beforeEach(() => {
    root = tempRoot();
    store = openFileStore({
      coreRoot: root.coreRoot,
      workspaceRoot: join(root.coreRoot, 'workspace'),
      logger: silentLogger(),
      location: 'test',
      reason: 'test',
    });
  });
  afterEach(async () => {
    await store.close();
    root.cleanup();
  });

  it('loses no update when two processes read, modify and write the same state at once', async () => {
    await store.set(GROUPS.registry, 'core/r/shared', sampleRecord({ runs: 0 }));
    const n = 60;
    expect(await Promise.all([run(root.coreRoot, n), run(root.coreRoot, n)])).toEqual([0, 0]);
    expect(await store.get(GROUPS.runtime, 'fail_count')).toEqual({ rmw: 2 * n });
    expect(await store.get(GROUPS.registry, 'core/r/shared')).toMatchObject({ runs: 2 * n });
  }, 60_000);
});
