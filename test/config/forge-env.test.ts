import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigSync } from '../../src/config/load-sync.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';

describe('forge token variables', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => root.cleanup());

  it('keeps the usual token variables that are set, and nothing else of the environment', () => {
    const config = loadConfigSync(
      {},
      { ...root.env, GITHUB_TOKEN: 'gh-value', GITLAB_TOKEN: ' ', GITEA_TOKEN: 'gt-value' },
    );
    expect(config.forgeEnv).toEqual({ GITHUB_TOKEN: 'gh-value', GITEA_TOKEN: 'gt-value' });
    expect(Object.isFrozen(config.forgeEnv)).toBe(true);
  });

  it('adds the variables agents.yaml names in forges[].token_env', () => {
    const path = join(root.coreRoot, 'agents.yaml');
    mkdirSync(root.coreRoot, { recursive: true });
    writeFileSync(
      path,
      'forges:\n  - {host: git.example.com, kind: forgejo, token_env: CODEBERG_BOT}\n',
    );
    const env = {
      ...root.env,
      CORE_WORKSPACE: root.coreRoot,
      CODEBERG_BOT: 'bot-value',
      UNRELATED_SECRET: 'no',
    };
    expect(loadConfigSync({}, env).forgeEnv).toEqual({ CODEBERG_BOT: 'bot-value' });
  });
});
