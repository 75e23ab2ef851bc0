import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAgentsFile } from '../../src/config/agents-file.js';
import {
  openForge,
  parseRemoteUrl,
  resolveForgeTarget,
  type ForgeSettings,
} from '../../src/forge/index.js';
import { AgenticError } from '../../src/lib/errors.js';

function thrownBy(fn: () => unknown): AgenticError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AgenticError);
    return err as AgenticError;
  }
  throw new Error('expected a throw');
}

/** The AgenticError a promise rejects with. */
async function rejectionOf(promise: Promise<unknown>): Promise<AgenticError> {
  const err = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AgenticError);
  return err as AgenticError;
}

describe('parseRemoteUrl', () => {
  it.each([
    ['https://github.com/acme/widgets.git', 'github.com', 'acme', 'widgets'],
    ['https://github.com/acme/widgets', 'github.com', 'acme', 'widgets'],
    ['https://github.com/acme/widgets/', 'github.com', 'acme', 'widgets'],
    ['http://git.example.com:3000/acme/widgets.git', 'git.example.com:3000', 'acme', 'widgets'],
    ['https://git.example.com:443/acme/widgets.git', 'git.example.com:443', 'acme', 'widgets'],
    ['https://bot:s3cret@git.example.com/acme/widgets.git', 'git.example.com', 'acme', 'widgets'],
    ['ssh://git@git.example.com:2222/acme/widgets.git', 'git.example.com:2222', 'acme', 'widgets'],
    ['ssh://git.example.com/acme/widgets', 'git.example.com', 'acme', 'widgets'],
    ['git@github.com:acme/widgets.git', 'github.com', 'acme', 'widgets'],
    ['github.com:acme/widgets', 'github.com', 'acme', 'widgets'],
    ['git@gitlab.com:group/sub/widgets.git', 'gitlab.com', 'group/sub', 'widgets'],
    [
      'https://gitlab.com/group/sub/deeper/widgets.git',
      'gitlab.com',
      'group/sub/deeper',
      'widgets',
    ],
    ['ssh://git@[::1]:2222/acme/widgets.git', '[::1]:2222', 'acme', 'widgets'],
  ])('parses %s', (url, host, owner, repo) => {
    expect(parseRemoteUrl(url)).toEqual({ host, owner, repo });
  });

  it.each([
    '/srv/git/widgets.git',
    './widgets',
    'file:///srv/git/widgets.git',
    'https://github.com/widgets',
    '',
  ])('refuses %j, which is not a forge URL', (url) => {
    expect(thrownBy(() => parseRemoteUrl(url)).code).toBe('FORGE_UNKNOWN');
  });

  it('never repeats credentials from the URL in its message', () => {
    const err = thrownBy(() => parseRemoteUrl('https://bot:s3cret@example.com/only-one'));
    expect(err.message).not.toContain('s3cret');
  });
});

describe('resolveForgeTarget and openForge', () => {
  const none: ForgeSettings = { forges: [], forgeEnv: {} };
  const dir = mkdtempSync(join(tmpdir(), 'agentic-forge-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('knows github.com and gitlab.com without configuration', () => {
    expect(resolveForgeTarget('git@github.com:acme/widgets.git', none)).toMatchObject({
      kind: 'github',
      apiUrl: 'https://api.github.com',
      owner: 'acme',
      repo: 'widgets',
      tokenSource: { kind: 'env', names: ['GITHUB_TOKEN', 'GH_TOKEN'] },
    });
    expect(resolveForgeTarget('https://GitLab.com/g/s/widgets', none)).toMatchObject({
      kind: 'gitlab',
      host: 'GitLab.com',
      apiUrl: 'https://gitlab.com/api/v4',
      owner: 'g/s',
      tokenSource: { kind: 'env', names: ['GITLAB_TOKEN'] },
    });
  });

  it('refuses an unknown host, naming the forges: entry to add', () => {
    const err = thrownBy(() => resolveForgeTarget('https://git.example.com:3000/a/b.git', none));
    expect(err.code).toBe('FORGE_UNKNOWN');
    expect(err.message).toContain('host: "git.example.com:3000"');
  });

  it('matches a configured host with its port, and derives the API root of each kind', () => {
    const settings: ForgeSettings = {
      forges: [
        { host: 'git.example.com:3000', kind: 'forgejo' },
        { host: 'git.example.com', kind: 'gitea' },
        { host: 'lab.example.com', kind: 'gitlab' },
        { host: 'ghe.example.com', kind: 'github' },
      ],
      forgeEnv: {},
    };
    expect(resolveForgeTarget('https://git.example.com:3000/a/b', settings)).toMatchObject({
      kind: 'forgejo',
      apiUrl: 'https://git.example.com:3000/api/v1',
      tokenSource: { kind: 'env', names: ['FORGEJO_TOKEN', 'GITEA_TOKEN'] },
    });
    expect(resolveForgeTarget('git@git.example.com:a/b.git', settings)).toMatchObject({
      kind: 'gitea',
      apiUrl: 'https://git.example.com/api/v1',
    });
    expect(resolveForgeTarget('git@lab.example.com:a/b.git', settings).apiUrl).toBe(
      'https://lab.example.com/api/v4',
    );
    expect(resolveForgeTarget('git@ghe.example.com:a/b.git', settings).apiUrl).toBe(
      'https://ghe.example.com/api/v3',
    );
  });

  it('lets a forges: entry override a known host (another token variable)', async () => {
    const settings: ForgeSettings = {
      forges: [
        {
          host: 'github.com',
          kind: 'github',
          api_url: 'https://proxy.test/gh/',
          token_env: 'BOT_TOKEN',
        },
      ],
      forgeEnv: { BOT_TOKEN: 'bot-token-value' },
    };
    expect(resolveForgeTarget('https://github.com/a/b', settings)).toMatchObject({
      apiUrl: 'https://proxy.test/gh',
      tokenSource: { kind: 'env', names: ['BOT_TOKEN'] },
    });
    expect((await openForge('https://github.com/a/b', settings)).kind).toBe('github');
  });

  it('fails with FORGE_TOKEN_MISSING naming the variables to set', async () => {
    const err = await rejectionOf(openForge('https://github.com/a/b', none));
    expect(err.code).toBe('FORGE_TOKEN_MISSING');
    expect(err.message).toContain('$GITHUB_TOKEN (or $GH_TOKEN)');
    expect(err.message).toContain('a/b');
  });

  it('takes GH_TOKEN when GITHUB_TOKEN is not set', async () => {
    const forge = await openForge('https://github.com/a/b', {
      forges: [],
      forgeEnv: { GH_TOKEN: 'x1234' },
    });
    expect(forge.repoPath).toBe('a/b');
  });

  it('reads a token_file, and says so when it is missing or empty', async () => {
    const path = join(dir, 'token');
    const settings: ForgeSettings = {
      forges: [{ host: 'git.example.com', kind: 'gitea', token_file: path }],
      forgeEnv: { GITEA_TOKEN: 'ignored-when-a-file-is-named' },
    };
    const missing = await rejectionOf(openForge('git@git.example.com:a/b.git', settings));
    expect(missing.code).toBe('FORGE_TOKEN_MISSING');
    expect(missing.message).toContain(`the token file ${path} cannot be read (ENOENT)`);
    writeFileSync(path, '  \n');
    expect(
      (await rejectionOf(openForge('git@git.example.com:a/b.git', settings))).message,
    ).toContain('is empty');
    writeFileSync(path, 'file-token-value\n');
    expect((await openForge('git@git.example.com:a/b.git', settings)).kind).toBe('gitea');
  });
});

describe('agents.yaml forges:', () => {
  it('accepts self-hosted forges with a token variable or file', () => {
    const file = parseAgentsFile(
      [
        'forges:',
        '  - {host: "git.example.com:3000", kind: forgejo, api_url: "https://git.example.com:3000/api/v1", token_env: MY_TOKEN}',
        '  - {host: lab.example.com, kind: gitlab, token_file: /run/secrets/gitlab}',
      ].join('\n'),
      'agents.yaml',
    );
    expect(file.forges).toHaveLength(2);
    expect(file.forges[0]).toMatchObject({ kind: 'forgejo', token_env: 'MY_TOKEN' });
  });

  it('defaults to no forges', () => {
    expect(parseAgentsFile('', 'agents.yaml').forges).toEqual([]);
  });

  it.each([
    ['kind: bitbucket', 'forges.0.kind'],
    ['kind: gitea, token_env: A, token_file: /b', 'forges.0'],
    ['kind: gitea, api_url: not-a-url', 'forges.0.api_url'],
  ])('refuses %s', (entry, field) => {
    const err = thrownBy(() =>
      parseAgentsFile(`forges:\n  - {host: h.example, ${entry}}`, 'agents.yaml'),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.field).toBe(field);
  });
});
