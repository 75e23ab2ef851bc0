import { describe, expect, it } from 'vitest';
import { parseAgentsFile } from '../../src/config/agents-file.js';
import { qaSettingsFor } from '../../src/config/index.js';

const settings = (yaml: string, repo = 'core/demo') =>
  qaSettingsFor(parseAgentsFile(yaml, 'agents.yaml'), repo);

describe('qa settings', () => {
  it('detects checks by default, with no fix rounds', () => {
    expect(settings('')).toEqual({ enabled: true, checks: undefined, fixRounds: 0 });
  });

  it('turns QA off with qa: off or qa: false', () => {
    expect(settings('qa: off\n')).toEqual({ enabled: false });
    expect(settings('qa: false\n')).toEqual({ enabled: false });
  });

  it('lets a repository turn QA off, or use its own checks and fix rounds', () => {
    const yaml = [
      'qa:',
      '  fix_rounds: 2',
      '  checks:',
      '    - { name: unit, run: [npm, test] }',
      '  repos:',
      '    core/legacy: off',
      '    core/api:',
      '      fix_rounds: 1',
      '      checks:',
      '        - { name: lint, run: [npx, eslint, -f, json, .], kind: lint, parse: eslint-json, timeout_seconds: 120 }',
      '',
    ].join('\n');
    expect(settings(yaml, 'core/legacy')).toEqual({ enabled: false });
    expect(settings(yaml, 'core/demo')).toEqual({
      enabled: true,
      fixRounds: 2,
      checks: [
        { name: 'unit', run: ['npm', 'test'], kind: 'test', parse: 'none', timeout_seconds: 600 },
      ],
    });
    expect(settings(yaml, 'core/api')).toEqual({
      enabled: true,
      fixRounds: 1,
      checks: [
        {
          name: 'lint',
          run: ['npx', 'eslint', '-f', 'json', '.'],
          kind: 'lint',
          parse: 'eslint-json',
          timeout_seconds: 120,
        },
      ],
    });
  });

  it('refuses a check without an argv or with an unknown parser', () => {
    expect(() => settings('qa:\n  checks:\n    - { name: x, run: [] }\n')).toThrow(
      /non-empty argv/,
    );
    expect(() => settings('qa:\n  checks:\n    - { name: x, run: [a], parse: junit }\n')).toThrow(
      /parse/,
    );
  });
});
