import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveCoreRoot } from '../../src/config/index.js';
import { loadConfigSync } from '../../src/config/load-sync.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';

describe('paths', () => {
  it('resolves CoreRoot from CORE_WORKSPACE, then CORE_HOME, HOME, DIR_HOME', () => {
    expect(resolveCoreRoot({ CORE_WORKSPACE: '/w', CORE_HOME: '/c', HOME: '/h' })).toBe('/w');
    expect(resolveCoreRoot({ CORE_HOME: '/c', HOME: '/h', DIR_HOME: '/d' })).toBe('/c/.core');
    expect(resolveCoreRoot({ HOME: '/h', DIR_HOME: '/d' })).toBe('/h/.core');
    expect(resolveCoreRoot({ DIR_HOME: '/d' })).toBe('/d/.core');
    expect(resolveCoreRoot({ CORE_WORKSPACE: '', HOME: '/h' })).toBe('/h/.core');
    expect(() => resolveCoreRoot({})).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('loading agents.yaml', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => root.cleanup());

  const write = (path: string, text: string): string => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  };

  it('uses built-in defaults when there is no file', () => {
    const config = loadConfigSync({}, root.env);
    expect(config.configPath).toBeNull();
    expect(config.workspaceRoot).toBe(join(root.coreRoot, 'workspace'));
    expect(config.file.dispatch).toMatchObject({ default_agent: 'claude', timeout_minutes: 60 });
    expect(Object.isFrozen(config.file.dispatch)).toBe(true);
  });

  it('finds the file via --config, then CORE_AGENT_CONFIG, then <CoreRoot>/agents.yaml', () => {
    const inRoot = write(join(root.coreRoot, 'agents.yaml'), 'dispatch:\n  default_agent: codex\n');
    const fromEnv = write(join(root.coreRoot, 'env.yaml'), 'dispatch:\n  default_agent: gemini\n');
    const fromFlag = write(
      join(root.coreRoot, 'flag.yaml'),
      'dispatch:\n  default_agent: opencode\n',
    );
    expect(loadConfigSync({}, root.env).configPath).toBe(inRoot);
    expect(
      loadConfigSync({}, { ...root.env, CORE_AGENT_CONFIG: fromEnv }).file.dispatch.default_agent,
    ).toBe('gemini');
    expect(
      loadConfigSync({ config: fromFlag }, { ...root.env, CORE_AGENT_CONFIG: fromEnv }).file
        .dispatch.default_agent,
    ).toBe('opencode');
  });

  it('fails when an explicitly named file is missing', () => {
    expect(() => loadConfigSync({ config: join(root.coreRoot, 'nope.yaml') }, root.env)).toThrow(
      /config file not found/,
    );
  });

  it('accepts integer and map concurrency entries and a relative workspace root', () => {
    write(
      join(root.coreRoot, 'agents.yaml'),
      'dispatch:\n  workspace_root: ws\nconcurrency:\n  claude: 3\n  codex:\n    total: 4\n    gpt-5.4: 1\n',
    );
    const config = loadConfigSync({}, root.env);
    expect(config.file.concurrency).toEqual({ claude: 3, codex: { total: 4, 'gpt-5.4': 1 } });
    expect(config.workspaceRoot).toBe(join(root.coreRoot, 'ws'));
  });

  it.each([
    [
      'dispatch:\n  defualt_agent: codex\n',
      /agents\.yaml: dispatch\.defualt_agent: unknown key "defualt_agent"; did you mean "default_agent"\?/,
      'dispatch.defualt_agent',
    ],
    [
      'concurrency:\n  codex: 0\n',
      /concurrency\.codex: .*expected number to be >0 \(got 0\)/,
      'concurrency.codex',
    ],
    ['concurrency:\n  codex:\n    total: two\n', /concurrency\.codex:/, 'concurrency.codex'],
    [
      'rates:\n  claude:\n    reset_utc: "6am"\n',
      /rates\.claude\.reset_utc: expected HH:MM/,
      'rates.claude.reset_utc',
    ],
    [
      'agents:\n  mine:\n    comand: [x]\n',
      /agents\.mine\.comand: unknown key "comand"; did you mean "command"\?/,
      'agents.mine.comand',
    ],
    [
      'agents:\n  mine:\n    command: []\n',
      /agents\.mine\.command: expected a non-empty argv array/,
      'agents.mine.command',
    ],
    ['dispatch: [1, 2\n', /invalid YAML/, undefined],
  ])('points at the field of an invalid file: %j', (text, message, field) => {
    write(join(root.coreRoot, 'agents.yaml'), text);
    let error: unknown;
    try {
      loadConfigSync({}, root.env);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(join(root.coreRoot, 'agents.yaml'));
    if (field) expect(error).toMatchObject({ field });
  });

  it('parses max attempts from env: positive integers only, others ignored with a warning', () => {
    expect(
      loadConfigSync(
        {},
        { ...root.env, CORE_AGENT_SYNC_MAX_ATTEMPTS: '7', CORE_SYNC_MAX_ATTEMPTS: '9' },
      ).syncEnv.maxAttempts,
    ).toBe(7);
    expect(
      loadConfigSync({}, { ...root.env, CORE_SYNC_MAX_ATTEMPTS: '9' }).syncEnv.maxAttempts,
    ).toBe(9);
    const bad = loadConfigSync(
      {},
      { ...root.env, CORE_AGENT_SYNC_MAX_ATTEMPTS: '-3', CORE_SYNC_MAX_ATTEMPTS: 'x' },
    );
    expect(bad.syncEnv.maxAttempts).toBeUndefined();
    expect(bad.warnings).toHaveLength(2);
    const fallback = loadConfigSync(
      {},
      { ...root.env, CORE_AGENT_SYNC_MAX_ATTEMPTS: '0', CORE_SYNC_MAX_ATTEMPTS: '4' },
    );
    expect(fallback.syncEnv.maxAttempts).toBe(4);
  });

  it('takes the token from CORE_AGENT_API_KEY, else CORE_BRAIN_KEY', () => {
    expect(
      loadConfigSync({}, { ...root.env, CORE_AGENT_API_KEY: 'a', CORE_BRAIN_KEY: 'b' }).syncEnv
        .apiKey,
    ).toBe('a');
    expect(loadConfigSync({}, { ...root.env, CORE_BRAIN_KEY: 'b' }).syncEnv.apiKey).toBe('b');
  });

  it('rejects an unknown log level', () => {
    expect(() => loadConfigSync({ logLevel: 'loud' }, root.env)).toThrow(
      expect.objectContaining({ field: 'log-level' }),
    );
  });
});
