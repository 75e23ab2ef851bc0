import { describe, expect, it } from 'vitest';
import { validateAgentsObject } from '../../src/config/agents-file.js';
import { defaultAgentsFile } from '../../src/config/defaults.js';
import {
  applySetting,
  settingsDiff,
  settingsOf,
  type FleetSettings,
} from '../../src/config/fleet-settings.js';

const base = (): FleetSettings => ({
  ...settingsOf(defaultAgentsFile()),
  concurrency: { shell: 2, claude: { total: 4, opus: 1 } },
});
const set = (key: string, value: unknown, from = base()): FleetSettings =>
  settingsOf(validateAgentsObject(applySetting(from, key, value), 'fleet config'));

describe('one fleet setting changed by its agents.yaml path', () => {
  it('sets pool limits, per-model sub-limits, rates and back-off fields', () => {
    expect(set('concurrency.shell', 3).concurrency['shell']).toBe(3);
    expect(set('concurrency.shell.small', 1).concurrency['shell']).toEqual({ total: 2, small: 1 });
    expect(set('concurrency.codex.fast', 1).concurrency['codex']).toEqual({ total: 2, fast: 1 });
    expect(set('concurrency.claude.opus', 2).concurrency['claude']).toEqual({ total: 4, opus: 2 });
    expect(set('concurrency.claude', { total: 6 }).concurrency['claude']).toEqual({ total: 6 });
    expect(set('rates.claude.daily_limit', 50).rates['claude']).toMatchObject({
      daily_limit: 50,
      reset_utc: '00:00',
    });
    expect(set('dispatch.default_concurrency', 5).default_concurrency).toBe(5);
    expect(set('default_concurrency', 5).default_concurrency).toBe(5);
    expect(set('failure_backoff.pause_minutes', 5).failure_backoff.pause_minutes).toBe(5);
  });

  it('unsets a key so its default applies again, but not a pool total alone', () => {
    expect(set('concurrency.shell', undefined).concurrency['shell']).toBeUndefined();
    expect(set('concurrency.claude.opus', undefined).concurrency['claude']).toEqual({ total: 4 });
    expect(
      set('dispatch.failure_backoff.count', undefined, {
        ...base(),
        failure_backoff: { count: 9, within_seconds: 60, pause_minutes: 30 },
      }).failure_backoff.count,
    ).toBe(3);
    expect(() => applySetting(base(), 'concurrency.claude.total', undefined)).toThrow(
      /unset concurrency\.claude instead/,
    );
  });

  it('refuses keys that are not fleet settings, naming the accepted forms', () => {
    for (const key of [
      'concurrency',
      'concurrency..x',
      'rates',
      'dispatch.timeout_minutes',
      'qa',
      'concurrency.a.b.c',
    ])
      expect(() => applySetting(base(), key, 1), key).toThrow(
        /is not a fleet setting; expected one of/,
      );
  });

  it('lists differences by key with both sides', () => {
    expect(settingsDiff(base(), set('concurrency.shell', 4))).toEqual([
      { key: 'concurrency.shell', fleet: 2, local: 4 },
    ]);
    expect(settingsDiff(base(), base())).toEqual([]);
  });
});
