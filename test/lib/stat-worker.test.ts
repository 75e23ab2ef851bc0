import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mtimesInWorker } from '../../src/lib/stat-worker.js';

describe('mtimesInWorker', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-stat-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('returns each path’s mtime in order, NaN for a missing one', async () => {
    mkdirSync(join(dir, 'a b'), { recursive: true });
    writeFileSync(join(dir, 'a b', 'one.json'), '{}');
    writeFileSync(join(dir, 'two.json'), '{}');
    utimesSync(join(dir, 'a b', 'one.json'), 1_000_000, 1_000_000.25);
    utimesSync(join(dir, 'two.json'), 2_000_000, 2_000_000.5);
    const mtimes = await mtimesInWorker(dir, ['two.json', 'gone.json', 'a b/one.json']);
    expect([...mtimes]).toEqual([2_000_000_500, NaN, 1_000_000_250]);
    expect([...(await mtimesInWorker(dir, []))]).toEqual([]);
  });

  it('rejects on a stat error other than a missing file', async () => {
    writeFileSync(join(dir, 'file'), 'x');
    // A path through a regular file is ENOTDIR, which a stat in place would throw too.
    await expect(mtimesInWorker(dir, ['file/status.json'])).rejects.toThrow(/ENOTDIR/);
  });
});
