import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findExecutable } from '../../src/lib/executable.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';

describe('findExecutable', () => {
  let root: TempRoot;
  let bin: string;

  /** Writes an executable script `name` into `dir`. */
  const tool = (dir: string, name: string, mode = 0o755): string => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, name);
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, mode);
    return file;
  };

  beforeEach(() => {
    root = tempRoot();
    bin = join(root.coreRoot, 'bin');
  });
  afterEach(() => root.cleanup());

  it('returns the first executable file on PATH, skipping non-executable files and directories', () => {
    const first = join(root.coreRoot, 'first');
    tool(first, 'agent', 0o644);
    mkdirSync(join(root.coreRoot, 'second', 'agent'), { recursive: true });
    const found = tool(bin, 'agent');
    const path = [first, join(root.coreRoot, 'second'), bin].join(delimiter);
    expect(findExecutable('agent', path)).toBe(found);
    expect(findExecutable('nope', path)).toBeUndefined();
    expect(findExecutable('agent', undefined)).toBeUndefined();
  });

  it('skips relative PATH entries unless a cwd is given, then resolves them against it', () => {
    const found = tool(join(root.coreRoot, 'rel'), 'check');
    const local = tool(root.coreRoot, 'here');
    expect(findExecutable('check', `rel${delimiter}`)).toBeUndefined();
    expect(findExecutable('here', `rel${delimiter}`)).toBeUndefined();
    expect(findExecutable('check', `rel${delimiter}`, { cwd: root.coreRoot })).toBe(found);
    // An empty entry is the cwd, as in the shell.
    expect(findExecutable('here', `rel${delimiter}`, { cwd: root.coreRoot })).toBe(local);
  });

  it('checks a path as given, resolving a relative one against the cwd', () => {
    const file = tool(bin, 'run');
    expect(findExecutable(file, '')).toBe(file);
    expect(findExecutable('bin/run', '', { cwd: root.coreRoot })).toBe(file);
    expect(findExecutable('bin/missing', '', { cwd: root.coreRoot })).toBeUndefined();
  });
});
