import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changesBetween } from '../../src/deliver/harvest.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { GIT_ENV } from '../helpers/dispatch.js';
import { git } from '../helpers/git.js';

describe('counting an agent branch’s changes against its base', () => {
  let root: TempRoot;
  let dir: string;
  const env = { ...GIT_ENV };
  const commit = (file: string, text: string, message: string): string => {
    writeFileSync(join(dir, file), text);
    git(dir, 'add', file);
    git(dir, 'commit', '-q', '--allow-empty-message', '-m', message);
    return git(dir, 'rev-parse', 'HEAD');
  };
  const counted = (base: string, head: string) =>
    changesBetween({ repoDir: dir, env }, base, head).then((c) => c.commits);
  const gitCount = (base: string, head: string): number =>
    Number(git(dir, 'rev-list', '--count', `${base}..${head}`));

  beforeEach(() => {
    root = tempRoot();
    dir = join(root.coreRoot, 'repo');
    git(root.coreRoot, 'init', '-q', '-b', 'main', dir);
  });
  afterEach(() => root.cleanup());

  it('counts commits as git does over a line of commits, a merge, a base off the line, and packed history', async () => {
    const base = commit('a.txt', 'a\n', 'base');
    commit('a.txt', 'a\nb\n', 'one');
    commit('b.txt', 'b\n', '');
    const line = commit('a.txt', 'a\nb\nc\n', 'three');
    expect(await counted(base, line)).toBe(3);
    expect(await changesBetween({ repoDir: dir, env }, base, line)).toEqual({
      commits: 3,
      files_changed: 2,
      insertions: 3,
      deletions: 0,
    });
    git(dir, 'checkout', '-q', '-b', 'side', base);
    const side = commit('c.txt', 'c\n', 'side');
    git(dir, 'checkout', '-q', 'main');
    git(dir, 'merge', '-q', '--no-edit', 'side');
    const merged = git(dir, 'rev-parse', 'HEAD');
    expect(await counted(base, merged)).toBe(gitCount(base, merged));
    expect(await counted(side, line)).toBe(gitCount(side, line));
    git(dir, 'gc', '-q');
    expect(await counted(base, line)).toBe(3);
    expect(await counted(line, merged)).toBe(gitCount(line, merged));
  });
});
