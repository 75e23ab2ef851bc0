import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverWorkspaces } from '../../src/workspace/index.js';
import {
  isCurrentMirror,
  readStatusFile,
  writeStatusFile,
  writeStatusFiles,
} from '../../src/workspace/status-file.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { sampleRecord } from '../helpers/records.js';

describe('status.json', () => {
  let root: TempRoot;
  let dir: string;
  beforeEach(() => {
    root = tempRoot();
    dir = join(root.coreRoot, 'ws', 'core', 'go-io', 'task-1');
  });
  afterEach(() => root.cleanup());

  it('lands writes to one status.json in call order, even when a batch is still on the thread pool', async () => {
    const other = join(root.coreRoot, 'ws', 'core', 'go-io', 'task-2');
    for (let i = 0; i < 20; i++) {
      const batch = writeStatusFiles(
        [
          [dir, sampleRecord({ status: 'running', runs: i })],
          [other, sampleRecord({ status: 'running', runs: i })],
        ],
        { durable: false },
      );
      const lone = writeStatusFiles([[dir, sampleRecord({ status: 'completed', runs: i })]], {
        durable: false,
      });
      await Promise.all([batch, lone]);
      expect(JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8'))).toMatchObject({
        status: 'completed',
        runs: i,
      });
    }
    expect(readdirSync(dir)).toEqual(['status.json']);
  });

  it('writes atomically, leaving no temp files, with an mtime that marks it as the current mirror', async () => {
    writeStatusFile(dir, sampleRecord({ updated_at: '2026-02-03T04:05:06.789Z' }), {
      durable: true,
    });
    expect(readdirSync(dir)).toEqual(['status.json']);
    expect(statSync(join(dir, 'status.json')).mtime.toISOString()).toBe('2026-02-03T04:05:06.789Z');
    expect(isCurrentMirror(join(dir, 'status.json'), '2026-02-03T04:05:06.789Z')).toBe(true);
    expect(isCurrentMirror(join(dir, 'status.json'), '2026-02-03T04:05:06.790Z')).toBe(false);
    // A time 10 µs off the mark (another writer's, with fine-grained timestamps) is not it.
    const near = (Date.parse('2026-02-03T04:05:06.789Z') + 0.51) / 1000;
    utimesSync(join(dir, 'status.json'), near, near);
    expect(isCurrentMirror(join(dir, 'status.json'), '2026-02-03T04:05:06.789Z')).toBe(false);
    // Any other writer (here: a plain rewrite) loses the mark.
    writeFileSync(join(dir, 'status.json'), readFileSync(join(dir, 'status.json')));
    expect(isCurrentMirror(join(dir, 'status.json'), '2026-02-03T04:05:06.789Z')).toBe(false);
    const read = readStatusFile(dir);
    expect(read).toEqual({
      kind: 'ok',
      record: sampleRecord({ updated_at: '2026-02-03T04:05:06.789Z' }),
    });
  });

  it('preserves unknown fields and lets known fields be cleared', async () => {
    writeStatusFile(dir, sampleRecord({ status: 'running', pid: 42 }), { durable: false });
    const path = join(dir, 'status.json');
    writeFileSync(
      path,
      JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), x_extra: 'kept' }),
    );
    writeStatusFile(dir, sampleRecord({ status: 'completed' }), { durable: false });
    const after = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(after['x_extra']).toBe('kept');
    expect(after['pid']).toBeUndefined();
    expect(after['status']).toBe('completed');
  });

  it.each([
    ['not JSON', '{"status": "queued", '],
    ['not a record', '{"status": "dancing"}'],
    ['an array', '[]'],
  ])('quarantines a corrupt file (%s) as status.json.corrupt-<UTC stamp>', (_label, text) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'status.json'), text);
    const read = readStatusFile(dir, new Date('2026-05-06T07:08:09.000Z'));
    expect(read).toMatchObject({ kind: 'corrupt' });
    expect(readdirSync(dir)).toEqual(['status.json.corrupt-20260506T070809Z']);
    expect(readFileSync(join(dir, 'status.json.corrupt-20260506T070809Z'), 'utf8')).toBe(text);
  });

  it('reports a missing file as missing', () => {
    expect(readStatusFile(dir)).toEqual({ kind: 'missing' });
  });

  it('discovers org/repo/leaf directories sorted, skipping hidden ones', () => {
    const ws = join(root.coreRoot, 'ws');
    for (const n of ['b/r/2', 'a/r/9', 'a/r/10', 'a/q/1', '.tmp/x/y', 'a/.git/z'])
      mkdirSync(join(ws, n), { recursive: true });
    expect(discoverWorkspaces(ws)).toEqual(['a/q/1', 'a/r/10', 'a/r/9', 'b/r/2']);
    expect(discoverWorkspaces(join(root.coreRoot, 'missing'))).toEqual([]);
  });
});
