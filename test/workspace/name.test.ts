import { describe, expect, it } from 'vitest';
import {
  leafFor,
  parseWorkspaceName,
  validateBranch,
  workspaceDir,
  workspaceName,
} from '../../src/workspace/index.js';

describe('workspace names', () => {
  it('builds org/repo/leaf names and directories under the root', () => {
    expect(workspaceName({ org: 'core', repo: 'go-io', leaf: 'task-42' })).toBe(
      'core/go-io/task-42',
    );
    expect(workspaceDir('/root/ws', 'core/go-io/task-42')).toBe('/root/ws/core/go-io/task-42');
  });

  it('picks the leaf from PR, then issue, then branch, then a generated id', () => {
    expect(leafFor({ pr: 7, issue: 3, branch: 'x' })).toBe('pr-7');
    expect(leafFor({ issue: 3, branch: 'x' })).toBe('task-3');
    expect(leafFor({ branch: 'feature/deep/thing' })).toBe('feature-deep-thing');
    const a = leafFor({});
    expect(a).toMatch(/^run-\d{8}-[0-9a-f]{8}$/);
    expect(leafFor({})).not.toBe(a);
  });

  const hostile: Array<[string, string]> = [
    ['..', 'org'],
    ['.', 'org'],
    ['', 'org'],
    ['a/b', 'org'],
    ['a\\b', 'org'],
    ['/etc', 'org'],
    ['-rf', 'org'],
    ['a\u0000b', 'org'],
    ['a\nb', 'org'],
    ['a\u001bb', 'org'],
    ['x'.repeat(101), 'org'],
    ['core\u202eexe.txt', 'org'],
    ['a\u2066b', 'org'],
    ['a\u200bb', 'org'],
    ['a\ud800b', 'org'],
    ['a\udc00', 'org'],
  ];
  it.each(hostile)('rejects org %j naming the field', (value, field) => {
    expect(() => workspaceName({ org: value, repo: 'r', leaf: 'l' })).toThrow(
      expect.objectContaining({ code: 'WORKSPACE_NAME_INVALID', field }),
    );
  });

  it('names the failing field for repo and leaf too', () => {
    expect(() => workspaceName({ org: 'o', repo: '../x', leaf: 'l' })).toThrow(
      expect.objectContaining({ field: 'repo' }),
    );
    expect(() => workspaceName({ org: 'o', repo: 'r', leaf: '..' })).toThrow(
      expect.objectContaining({ field: 'leaf' }),
    );
    expect(() => leafFor({ branch: '-x' })).toThrow(expect.objectContaining({ field: 'branch' }));
  });

  it('accepts 100-character segments', () => {
    expect(workspaceName({ org: 'o'.repeat(100), repo: 'r', leaf: 'l' })).toHaveLength(104);
  });

  it.each(['core/go-io', 'core/go-io/task-1/extra', '/abs/path/x', 'core/../x', 'a//b'])(
    'rejects workspace name %j',
    (name) => {
      expect(() => parseWorkspaceName(name)).toThrow(
        expect.objectContaining({ code: 'WORKSPACE_NAME_INVALID', field: 'workspace' }),
      );
    },
  );

  it('rejects branch HEAD and the other special ref names, bidi overrides and lone surrogates', () => {
    for (const branch of ['HEAD', 'FETCH_HEAD', 'ORIG_HEAD', 'feat\u202eure', 'a\ud83db'])
      expect(() => validateBranch(branch), branch).toThrow(
        expect.objectContaining({ code: 'WORKSPACE_NAME_INVALID', field: 'branch' }),
      );
    expect(validateBranch('feature/HEAD-less')).toBe('feature/HEAD-less');
    expect(workspaceName({ org: 'o', repo: 'r', leaf: 'emoji-😀' })).toBe('o/r/emoji-😀');
  });

  it.each([
    'a..b',
    '-x',
    'a b',
    'x.lock',
    'a.lock/b',
    'a~1',
    'a^b',
    'a:b',
    'a@{b',
    '.hidden',
    'a/.b',
    'a/',
    'a\u0001',
  ])('rejects branch %j', (branch) => {
    expect(() => validateBranch(branch)).toThrow(expect.objectContaining({ field: 'branch' }));
  });

  it('accepts ordinary branches', () => {
    expect(validateBranch('agent/fix-the-tests')).toBe('agent/fix-the-tests');
    expect(validateBranch('release-1.2')).toBe('release-1.2');
  });
});
