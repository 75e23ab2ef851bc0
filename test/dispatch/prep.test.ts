import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareClone } from '../../src/dispatch/clone.js';
import { sourceOf } from '../../src/dispatch/repo-source.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { GIT_ENV, makeSourceRepo } from '../helpers/dispatch.js';

const env = { ...(process.env as Record<string, string>), ...GIT_ENV };
const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();

describe('prepareClone', () => {
  let root: TempRoot;
  let source: string;
  beforeEach(() => {
    root = tempRoot();
    source = makeSourceRepo(root);
  });
  afterEach(() => root.cleanup());

  it('leaves a fresh clone on a new branch that git itself sees as checked out and clean', async () => {
    const ws = join(root.coreRoot, 'ws');
    const prep = await prepareClone(ws, sourceOf(source), 'agent/fix-it', env);
    expect(prep).toMatchObject({ branch: 'agent/fix-it', baseRef: 'trunk', reused: false });
    const repo = prep.repoDir;
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('agent/fix-it');
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(git(source, 'rev-parse', 'HEAD'));
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(git(repo, 'branch', '--format=%(refname:short)').split('\n').sort()).toEqual([
      'agent/fix-it',
      'trunk',
    ]);
    expect(readdirSync(join(repo, '.git', 'refs', 'heads', 'agent'))).toEqual(['fix-it']);
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'work');
    expect(git(repo, 'rev-parse', 'trunk')).toBe(git(source, 'rev-parse', 'HEAD'));
    git(repo, 'fsck', '--no-progress');
  });

  it('tracks the remote branch when the source already has it', async () => {
    git(source, 'branch', 'feature');
    const prep = await prepareClone(join(root.coreRoot, 'ws'), sourceOf(source), 'feature', env);
    expect(git(prep.repoDir, 'rev-parse', '--abbrev-ref', 'feature@{upstream}')).toBe(
      'origin/feature',
    );
  });

  it('reports git’s error, and leaves no lock behind, when the branch clashes with an existing one', async () => {
    git(source, 'checkout', '-q', '-b', 'agent');
    const ws = join(root.coreRoot, 'ws');
    await expect(prepareClone(ws, sourceOf(source), 'agent/x', env)).rejects.toMatchObject({
      code: 'PREP_FAILED',
    });
    expect(existsSync(join(ws, 'repo', '.git', 'refs', 'heads', 'agent.lock'))).toBe(false);
    expect(git(join(ws, 'repo'), 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('agent');
  });

  it('recovers a clone whose branch switch was cut short by a killed runner', async () => {
    const ws = join(root.coreRoot, 'ws');
    await prepareClone(ws, sourceOf(source), 'trunk', env);
    const dotGit = join(ws, 'repo', '.git');
    writeFileSync(join(dotGit, 'HEAD.lock'), 'ref: refs/heads/agent/half\n');
    mkdirSync(join(dotGit, 'refs', 'heads', 'agent'), { recursive: true });
    writeFileSync(join(dotGit, 'refs', 'heads', 'agent', 'half.lock'), '');
    const again = await prepareClone(ws, sourceOf(source), 'agent/half', env);
    expect(git(again.repoDir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('agent/half');
    expect(existsSync(join(dotGit, 'HEAD.lock'))).toBe(false);
  });

  it('reuses an existing clone and switches it to the branch', async () => {
    const ws = join(root.coreRoot, 'ws');
    await prepareClone(ws, sourceOf(source), 'agent/one', env);
    const again = await prepareClone(ws, sourceOf(source), 'agent/two', env);
    expect(again.reused).toBe(true);
    expect(git(again.repoDir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('agent/two');
  });
});
