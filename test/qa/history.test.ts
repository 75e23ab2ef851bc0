import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareWithHistory, reportForJournal, runQa, type Finding } from '../../src/qa/index.js';
import { check, fixture, type Fixture } from './fixtures.js';

/** A finding on line `n` of a.py, rule `R<n>`; its letter names it in the tests. */
function finding(letter: string): Finding {
  const line = letter.charCodeAt(0) - 64;
  const code = `R${line}`;
  return {
    tool: 'ruff',
    file: 'a.py',
    line,
    code,
    severity: 'error',
    message: `problem ${letter}`,
    fingerprint: `ruff|a.py|${line}|${code}`,
  };
}
const letters = (findings: readonly Finding[]): string =>
  findings.map((f) => String.fromCharCode(64 + f.line)).join('');

describe('compareWithHistory', () => {
  it('leaves new, resolved and persistent empty without history', () => {
    const none = { new: [], resolved: [], persistent: [], cycles: 0 };
    expect(compareWithHistory([finding('A')], [])).toEqual(none);
    // Journal lines without a findings list (QA off, or never reached) are no history either.
    expect(
      compareWithHistory(
        [finding('A')],
        [{ status: 'failed' }, { report: { passed: true } }, 'junk', null],
      ),
    ).toEqual(none);
  });

  it('reads findings under report.findings or findings, whole or as fingerprints, and skips lines without', () => {
    const history = [
      { report: { findings: [finding('A'), finding('B')] } },
      { status: 'failed', question: 'agent crashed' },
      { report: { findings: [finding('A'), finding('B'), finding('C')] } },
      { findings: [finding('A'), finding('C')] },
      { report: { findings: ['ruff|a.py|1|R1', 'ruff|a.py|3|R3', 'ruff|a.py|4|R4'] } },
    ];
    const h = compareWithHistory([finding('A'), finding('C'), finding('E')], history);
    expect(h.cycles).toBe(4);
    expect(letters(h.new)).toBe('E');
    expect(h.resolved).toEqual([{ ...finding('D'), message: '' }]);
    expect(letters(h.persistent)).toBe('A');
  });

  it('counts a clean cycle: what comes back after it is new', () => {
    const h = compareWithHistory(
      [finding('A')],
      [{ report: { findings: [finding('A')] } }, { report: { findings: [] } }],
    );
    expect(letters(h.new)).toBe('A');
    expect(h.resolved).toEqual([]);
  });

  it('looks only at the last five cycles and needs four for persistent', () => {
    const cycles = (...sets: string[]) =>
      sets.map((s) => ({ report: { findings: [...s].map(finding) } }));
    // B is in the four newest cycles; the older ones without it fall out of the window.
    expect(
      letters(compareWithHistory([finding('B')], cycles('A', 'A', 'AB', 'B', 'B', 'B')).persistent),
    ).toBe('B');
    expect(
      letters(compareWithHistory([finding('B')], cycles('A', 'B', 'B', 'B', 'B')).persistent),
    ).toBe('B');
    expect(compareWithHistory([finding('B')], cycles('A', 'A', 'B', 'B', 'B')).persistent).toEqual(
      [],
    );
    expect(compareWithHistory([finding('B')], cycles('B', 'B', 'B')).persistent).toEqual([]);
    expect(
      compareWithHistory([finding('B')], cycles('B', 'B', 'B', 'B', 'B', 'B', 'B')).cycles,
    ).toBe(5);
  });
});

describe('finding history over QA cycles', () => {
  let fx: Fixture | undefined;
  afterEach(() => fx?.cleanup());

  it('computes new, resolved and persistent exactly over eight cycles fed back through the journal', async () => {
    fx = fixture({
      'lint.cjs':
        "const f = require('node:fs').readFileSync('findings.txt', 'utf8').trim();\n" +
        "console.log(JSON.stringify([...f].map((c) => { const n = c.charCodeAt(0) - 64; return { code: 'R' + n, filename: 'a.py', location: { row: n, column: 1 }, message: 'problem ' + c }; })));\n",
    });
    const steps: [findings: string, newer: string, resolved: string, persistent: string][] = [
      ['AB', '', '', ''],
      ['ABC', 'C', '', ''],
      ['AC', '', 'B', ''],
      ['ACD', 'D', '', ''],
      ['AD', '', 'C', 'A'],
      ['ADE', 'E', '', 'A'],
      ['DE', '', 'A', ''],
      ['DE', '', '', 'D'],
    ];
    const journal: unknown[] = [];
    for (const [i, [present, newer, resolved, persistent]] of steps.entries()) {
      writeFileSync(join(fx.repo, 'findings.txt'), `${present}\n`);
      const report = await runQa(
        fx.input({
          // The lead passes the last five journal lines of the workspace.
          history: journal.slice(-5),
          checks: [check('ruff', ['node', 'lint.cjs'], { kind: 'lint', parse: 'ruff-json' })],
        }),
      );
      expect(
        [
          letters(report.findings),
          letters(report.new),
          letters(report.resolved),
          letters(report.persistent),
        ],
        `cycle ${i + 1}`,
      ).toEqual([present, newer, resolved, persistent]);
      expect(report.summary).toMatchObject({
        new: newer.length,
        resolved: resolved.length,
        persistent: persistent.length,
      });
      if (i === 0) expect(report.summary_text).toBe('QA passed: 1 check (ruff), 2 findings');
      if (i === 4)
        expect(report.summary_text).toBe(
          'QA passed: 1 check (ruff), 2 findings (0 new, 1 resolved, 1 persistent)',
        );
      journal.push({ status: 'completed', runs: i + 1, report: reportForJournal(report) });
      // A run that never reached QA leaves a journal line without a report.
      if (i === 3) journal.push({ status: 'failed', runs: i + 1 });
    }
  });
});
