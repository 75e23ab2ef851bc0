import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeDurable } from '../../src/lib/fs.js';

describe('removeDurable', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-fs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('removes the file and accepts one that is already gone', () => {
    const path = join(dir, 'f.json');
    writeFileSync(path, '{}');
    removeDurable(path);
    expect(existsSync(path)).toBe(false);
    expect(() => removeDurable(path)).not.toThrow();
    expect(() => removeDurable(join(dir, 'missing', 'f.json'))).not.toThrow();
  });
});
