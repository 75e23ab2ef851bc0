import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigSync } from '../../src/config/load-sync.js';
import { resolveSyncSettings } from '../../src/sync/index.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';

describe('sync settings', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => root.cleanup());

  const yaml = (text: string): string => {
    const path = join(root.coreRoot, 'agents.yaml');
    writeFileSync(path, text);
    return path;
  };
  const settings = (env: Record<string, string> = {}) =>
    resolveSyncSettings(loadConfigSync({}, { ...root.env, ...env }), 'the-host');

  it('is offline without a token, with the hostname as agent id and 100 max attempts', () => {
    const s = settings({ CORE_API_URL: 'http://hub' });
    expect(s).toMatchObject({
      online: false,
      offlineReason: 'no token',
      agentId: 'the-host',
      maxAttempts: 100,
      batchSize: 500,
    });
    expect(s.fleetNodeId).toBeUndefined();
  });

  it('is offline with a token but no URL', () => {
    expect(settings({ CORE_AGENT_API_KEY: 'k' })).toMatchObject({
      online: false,
      offlineReason: 'no hub URL',
    });
  });

  it('prefers env over agents.yaml for URL, token, agent id and node id', () => {
    writeFileSync(join(root.coreRoot, 'token'), 'file-token\n');
    yaml(
      'sync:\n  url: http://yaml-hub/\n  token_file: token\n  agent_id: yaml-agent\n  fleet_node_id: yaml-node\n  batch_size: 50\n',
    );
    expect(settings()).toMatchObject({
      url: 'http://yaml-hub',
      token: 'file-token',
      agentId: 'yaml-agent',
      fleetNodeId: 'yaml-node',
      batchSize: 50,
      online: true,
    });
    expect(
      settings({
        CORE_API_URL: 'http://env-hub',
        CORE_BRAIN_KEY: 'brain',
        AGENT_NAME: 'env-agent',
        CORE_AGENT_FLEET_NODE_ID: 'env-node',
      }),
    ).toMatchObject({
      url: 'http://env-hub',
      token: 'brain',
      agentId: 'env-agent',
      fleetNodeId: 'env-node',
    });
    expect(settings({ CORE_AGENT_API_KEY: 'agent-key', CORE_BRAIN_KEY: 'brain' }).token).toBe(
      'agent-key',
    );
  });

  it('resolves a relative token_file against the agents.yaml folder and warns when it is missing', () => {
    const dir = join(root.coreRoot, 'conf');
    mkdirSync(dir);
    writeFileSync(join(dir, 'secret'), '  s3cret  \n');
    const path = join(dir, 'agents.yaml');
    writeFileSync(path, 'sync:\n  url: http://hub\n  token_file: secret\n');
    const ok = resolveSyncSettings(loadConfigSync({ config: path }, root.env));
    expect(ok.token).toBe('s3cret');
    writeFileSync(path, 'sync:\n  url: http://hub\n  token_file: missing\n');
    const missing = resolveSyncSettings(loadConfigSync({ config: path }, root.env));
    expect(missing.online).toBe(false);
    expect(missing.warnings[0]).toMatch(/missing/);
  });

  it('takes max attempts from CORE_AGENT_SYNC_MAX_ATTEMPTS, then CORE_SYNC_MAX_ATTEMPTS, then sync.max_attempts, then 100', () => {
    yaml('sync:\n  max_attempts: 7\n');
    expect(settings().maxAttempts).toBe(7);
    expect(settings({ CORE_SYNC_MAX_ATTEMPTS: '5' }).maxAttempts).toBe(5);
    expect(
      settings({ CORE_AGENT_SYNC_MAX_ATTEMPTS: '3', CORE_SYNC_MAX_ATTEMPTS: '5' }).maxAttempts,
    ).toBe(3);
    // An invalid env value is ignored (with a config warning) and the next source applies.
    expect(settings({ CORE_AGENT_SYNC_MAX_ATTEMPTS: 'lots' }).maxAttempts).toBe(7);
    yaml('sync: {}\n');
    expect(settings({ CORE_AGENT_SYNC_MAX_ATTEMPTS: '-2' }).maxAttempts).toBe(100);
  });
});
