import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buffersDir, recoverOrphanBuffers, RunBuffer } from '../../src/lifecycle/buffers.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';

describe('QA run buffers', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => root.cleanup());

  it('appends entries, returns them in order on commit and removes the file', async () => {
    const buffer = await RunBuffer.open(root.coreRoot, 'core/go-io/task-1');
    buffer.append({ step: 1 });
    buffer.append({ step: 2, ok: true });
    expect(existsSync(buffer.path)).toBe(true);
    expect(buffer.commit()).toEqual([{ step: 1 }, { step: 2, ok: true }]);
    expect(existsSync(buffer.path)).toBe(false);
  });

  it('discards an orphan buffer at start and quarantines an unreadable one', async () => {
    const orphan = await RunBuffer.open(root.coreRoot, 'core/go-io/task-2');
    orphan.append({ partial: true });
    // Simulate a crash: the process never committed or discarded it.
    writeFileSync(
      join(buffersDir(root.coreRoot), 'broken.db'),
      'not sqlite at all, definitely not',
    );
    const report = await recoverOrphanBuffers(root.coreRoot, new Date('2026-01-02T03:04:05Z'));
    expect(report.discarded).toEqual(['core__go-io__task-2.db']);
    expect(report.quarantined).toEqual(['broken.db']);
    expect(readdirSync(buffersDir(root.coreRoot))).toEqual(['quarantine']);
    expect(readdirSync(join(buffersDir(root.coreRoot), 'quarantine'))).toEqual([
      'broken.db.20260102T030405Z',
    ]);
  });

  it('is a no-op without a state directory', async () => {
    expect(await recoverOrphanBuffers(root.coreRoot, new Date())).toEqual({
      discarded: [],
      quarantined: [],
    });
    mkdirSync(buffersDir(root.coreRoot));
    expect(await recoverOrphanBuffers(root.coreRoot, new Date())).toEqual({
      discarded: [],
      quarantined: [],
    });
  });
});
