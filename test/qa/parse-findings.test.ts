import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFindings, runQa } from '../../src/qa/index.js';
import { check, fixture, type Fixture } from './fixtures.js';

const REPO = '/work/clone/repo';
const ESLINT_BIN = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'eslint');

describe('parseFindings', () => {
  it('reads eslint -f json output, paths relative to the repository', () => {
    const output = JSON.stringify([
      {
        filePath: `${REPO}/src/a.js`,
        messages: [
          {
            ruleId: 'no-unused-vars',
            line: 1,
            column: 7,
            severity: 2,
            message: "'x' is assigned a value but never used.",
          },
          {
            ruleId: 'eqeqeq',
            line: 3,
            column: 12,
            severity: 1,
            message: "Expected '===' and instead saw '=='.",
          },
          {
            ruleId: null,
            line: 9,
            column: 1,
            severity: 2,
            message: 'Parsing error: Unexpected token',
          },
        ],
      },
      { filePath: `${REPO}/clean.js`, messages: [] },
    ]);
    expect(parseFindings('eslint-json', 'eslint', output, REPO)).toEqual({
      findings: [
        {
          tool: 'eslint',
          file: 'src/a.js',
          line: 1,
          column: 7,
          code: 'no-unused-vars',
          severity: 'error',
          message: "'x' is assigned a value but never used.",
          fingerprint: 'eslint|src/a.js|1|no-unused-vars',
        },
        expect.objectContaining({
          code: 'eqeqeq',
          severity: 'warning',
          fingerprint: 'eslint|src/a.js|3|eqeqeq',
        }),
        expect.objectContaining({ code: 'fatal', line: 9, fingerprint: 'eslint|src/a.js|9|fatal' }),
      ],
    });
  });

  it('finds the JSON after lines a wrapper printed first (npm run lint)', () => {
    const output = `\n> fixture@1.0.0 lint\n> eslint -f json .\n\n[{"filePath":"${REPO}/b.js","messages":[{"ruleId":"semi","line":2,"column":3,"severity":2,"message":"Missing semicolon."}]}]\n`;
    expect(
      parseFindings('eslint-json', 'lint', output, REPO).findings.map((f) => f.fingerprint),
    ).toEqual(['lint|b.js|2|semi']);
  });

  it('reads ruff JSON output', () => {
    const output = JSON.stringify([
      {
        code: 'F401',
        filename: `${REPO}/pkg/mod.py`,
        location: { row: 1, column: 8 },
        end_location: { row: 1, column: 10 },
        message: '`os` imported but unused',
        fix: null,
      },
      {
        code: null,
        filename: `${REPO}/pkg/bad.py`,
        location: { row: 4, column: 1 },
        message: 'SyntaxError: x',
      },
    ]);
    const { findings, note } = parseFindings('ruff-json', 'ruff', output, REPO);
    expect(note).toBeUndefined();
    expect(findings).toEqual([
      {
        tool: 'ruff',
        file: 'pkg/mod.py',
        line: 1,
        column: 8,
        code: 'F401',
        severity: 'error',
        message: '`os` imported but unused',
        fingerprint: 'ruff|pkg/mod.py|1|F401',
      },
      expect.objectContaining({
        code: 'syntax-error',
        fingerprint: 'ruff|pkg/bad.py|4|syntax-error',
      }),
    ]);
  });

  it('makes each failing TAP test a finding, not TODO or SKIP ones, with the location node:test gives', () => {
    const output = [
      'TAP version 13',
      'ok 1 - adds',
      'not ok 2 - subtracts',
      '  ---',
      '  duration_ms: 1.2',
      `  location: '${REPO}/test/math.test.js:7:1'`,
      "  error: 'Expected values to be strictly equal'",
      '  ...',
      'not ok 3 - divides # TODO not written yet',
      'not ok 4 - multiplies # SKIP slow',
      'not ok 5',
      '1..5',
    ].join('\n');
    expect(parseFindings('tap', 'node test', output, REPO).findings).toEqual([
      {
        tool: 'node test',
        file: 'test/math.test.js',
        line: 7,
        column: 1,
        code: 'subtracts',
        severity: 'error',
        message: 'not ok: subtracts',
        fingerprint: 'node test|test/math.test.js|7|subtracts',
      },
      expect.objectContaining({
        file: '',
        line: 0,
        code: 'unnamed test',
        fingerprint: 'node test||0|unnamed test',
      }),
    ]);
  });

  it('gives no findings and a note for output that is not its JSON, never throwing', () => {
    expect(parseFindings('eslint-json', 'eslint', 'Oops! Something went wrong', REPO)).toEqual({
      findings: [],
      note: 'output is not eslint JSON (-f json); no findings read',
    });
    expect(parseFindings('ruff-json', 'ruff', '{"not": "a list"}', REPO).findings).toEqual([]);
    expect(parseFindings('eslint-json', 'eslint', '[{"filePath": 3}]', REPO).note).toMatch(
      /not eslint JSON/,
    );
  });

  it('bounds message length and strips control characters', () => {
    const output = JSON.stringify([
      {
        code: 'E1',
        filename: 'a.py',
        location: { row: 1, column: 1 },
        message: `\u001b[31mred\u001b[0m${'x'.repeat(900)}`,
      },
    ]);
    const [f] = parseFindings('ruff-json', 'ruff', output, REPO).findings;
    expect(f?.message.startsWith('redxxx')).toBe(true);
    expect(f?.message.length).toBe(500);
  });
});

describe('runQa with a real eslint', () => {
  let fx: Fixture | undefined;
  afterEach(() => fx?.cleanup());

  it('parses eslint JSON output into findings and clusters; lint does not gate', async () => {
    fx = fixture({
      'eslint.config.mjs':
        "export default [{ files: ['**/*.js'], rules: { 'no-unused-vars': 'error', eqeqeq: 'warn' } }];\n",
      'src/a.js': 'const unused = 1;\nexport function f(y) {\n  return y == 1;\n}\n',
      'src/b.js': 'const alsoUnused = 2;\n',
    });
    const report = await runQa(
      fx.input({
        checks: [
          check('eslint', [ESLINT_BIN, '-f', 'json', '.'], { kind: 'lint', parse: 'eslint-json' }),
        ],
      }),
    );
    expect(report.tools[0]).toMatchObject({
      name: 'eslint',
      status: 'failed',
      exit_code: 1,
      findings: 3,
    });
    expect(report.findings.map((f) => [f.fingerprint, f.severity])).toEqual([
      ['eslint|src/a.js|1|no-unused-vars', 'error'],
      ['eslint|src/a.js|3|eqeqeq', 'warning'],
      ['eslint|src/b.js|1|no-unused-vars', 'error'],
    ]);
    expect(report.clusters).toEqual([
      { tool: 'eslint', code: 'no-unused-vars', count: 2, files: ['src/a.js', 'src/b.js'] },
      { tool: 'eslint', code: 'eqeqeq', count: 1, files: ['src/a.js'] },
    ]);
    expect(report).toMatchObject({ passed: true, lint_passed: false });
    // No history: nothing is new, resolved or persistent.
    expect([report.new, report.resolved, report.persistent]).toEqual([[], [], []]);
    expect(report.summary_text).toBe('QA passed: 1 check (eslint failed), 3 findings');
  });

  it('keeps at most 1,000 findings and counts the rest', async () => {
    fx = fixture({
      'many.cjs':
        "console.log(JSON.stringify(Array.from({ length: 1200 }, (_, i) => ({ code: 'E1', filename: 'a.py', location: { row: i + 1, column: 1 }, message: 'm' }))));\n",
    });
    const report = await runQa(
      fx.input({
        checks: [check('ruff', ['node', 'many.cjs'], { kind: 'lint', parse: 'ruff-json' })],
      }),
    );
    expect(report.findings).toHaveLength(1000);
    expect(report.summary).toMatchObject({ findings: 1000, findings_dropped: 200 });
    expect(report.summary_text).toBe('QA passed: 1 check (ruff), 1200 findings');
  });
});
