import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/lib/proc.js';
import { waitUntil } from '../helpers/dispatch.js';
import {
  qaFailureQuestion,
  qaFixAnswer,
  readReport,
  runQa,
  writeReport,
} from '../../src/qa/index.js';
import { check, fixture, hostEnv, packageJson, type Fixture } from './fixtures.js';

/** A PATH holding only `node`, so no `timeout` program is found. */
function nodeOnlyPath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

/** A program that ignores SIGTERM and starts a child that ignores it too; the child's pid goes to child.pid. */
const STUBBORN = `
const { spawn } = require('node:child_process');
process.on('SIGTERM', () => {});
const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
require('node:fs').writeFileSync('child.pid', String(child.pid));
console.log('started');
setInterval(() => {}, 1000);
`;

describe('runQa', () => {
  let fx: Fixture | undefined;
  afterEach(() => fx?.cleanup());

  it('passes a detected npm test, with no install step when node_modules exists, and writes report.json', async () => {
    fx = fixture({ 'package.json': packageJson('process.exit(0)'), 'node_modules/.keep': '' });
    const report = await runQa(fx.input());
    expect(report.tools.map((t) => [t.name, t.status, t.detected])).toEqual([
      ['npm test', 'passed', true],
    ]);
    expect(report).toMatchObject({
      passed: true,
      build_passed: true,
      test_passed: true,
      lint_passed: true,
    });
    expect(report.detected).toBe('detected package.json test script (npm test)');
    expect(report.summary_text).toBe('QA passed: 1 check (npm test)');
    expect(report.changes).toEqual({ commits: 1, files_changed: 1, insertions: 2, deletions: 0 });
    expect(qaFailureQuestion(report)).toBeUndefined();
    expect(qaFixAnswer(report)).toBe('');
    await writeReport(fx.dir, report);
    expect(readReport(fx.dir)).toEqual(report);
    expect(readFileSync(report.tools[0]?.log_path ?? '', 'utf8')).toContain('node -e');
  });

  it('runs npm install first in a clone without node_modules or a lockfile', async () => {
    fx = fixture({ 'package.json': packageJson('process.exit(0)') });
    const report = await runQa(fx.input());
    expect(report.tools.map((t) => [t.name, t.kind, t.status])).toEqual([
      ['npm install', 'build', 'passed'],
      ['npm test', 'test', 'passed'],
    ]);
    expect(report.passed).toBe(true);
    expect(report.summary_text).toBe('QA passed: 2 checks (npm install, npm test)');
  });

  it('fails on a failing test, and the question names the check and shows its last lines', async () => {
    fx = fixture({
      'package.json': packageJson(
        "console.log('line one'); console.error('expected 2, got 3'); process.exit(1)",
      ),
      'node_modules/.keep': '',
    });
    const report = await runQa(fx.input());
    expect(report).toMatchObject({ passed: false, test_passed: false, build_passed: true });
    expect(report.tools[0]).toMatchObject({ status: 'failed', exit_code: 1 });
    expect(report.summary_text).toBe('QA failed: 1 check (npm test failed)');
    const question = qaFailureQuestion(report) ?? '';
    expect(question).toMatch(/^QA failed: npm test: exit code 1\n/);
    expect(question).toContain('expected 2, got 3');
    expect(question.length).toBeLessThanOrEqual(1500);
    const answer = qaFixAnswer(report);
    expect(answer).toContain('## npm test (test): exit code 1');
    expect(answer).toContain('Reproduce from the repository root: npm test');
    expect(answer).toContain('expected 2, got 3');
  });

  it('fails the checks after an install step that failed, without running them', async () => {
    fx = fixture({ 'package.json': packageJson('process.exit(0)'), 'package-lock.json': '{' });
    const report = await runQa(fx.input());
    expect(report.tools.map((t) => [t.name, t.status, t.note])).toEqual([
      ['npm ci', 'failed', undefined],
      ['npm test', 'failed', 'not run: npm ci failed'],
    ]);
    expect(report).toMatchObject({ passed: false, build_passed: false, test_passed: false });
    expect(qaFailureQuestion(report)).toMatch(/^QA failed: npm ci: /);
  });

  it('records a check whose program is not installed as skipped, not failed', async () => {
    fx = fixture();
    const report = await runQa(
      fx.input({
        checks: [
          check('missing', ['agentic-qa-no-such-tool', '--version']),
          check('missing script', ['./scripts/absent.sh'], { kind: 'build' }),
        ],
      }),
    );
    expect(report.tools.map((t) => [t.status, t.exit_code, t.note])).toEqual([
      ['skipped', null, 'agentic-qa-no-such-tool is not installed (not found on PATH)'],
      ['skipped', null, './scripts/absent.sh is not installed (not found on PATH)'],
    ]);
    expect(report.passed).toBe(true);
    expect(report.summary).toMatchObject({ checks: 2, skipped: 2, failed: 0 });
    expect(report.detected).toBeNull();
  });

  it.each([
    ['with coreutils timeout as a backstop', false],
    ['by itself (no timeout program on PATH)', true],
  ])(
    'kills a check past its timeout with its whole process group, children ignoring SIGTERM included: %s',
    async (_, bare) => {
      fx = fixture({ 'stubborn.cjs': STUBBORN });
      const env = bare ? { ...hostEnv(), PATH: nodeOnlyPath(fx.dir) } : hostEnv();
      const report = await runQa(
        fx.input({
          env,
          checks: [check('stubborn', ['node', 'stubborn.cjs'], { timeout_seconds: 1 })],
        }),
      );
      const tool = report.tools[0];
      expect(tool).toMatchObject({
        status: 'timeout',
        exit_code: null,
        note: 'timed out after 1 s',
      });
      expect(tool?.output_tail).toContain('started');
      // Well before the `timeout` backstop (5 s later) could have done it.
      expect(tool?.duration_ms).toBeLessThan(5_500);
      const childPid = Number(readFileSync(join(fx.repo, 'child.pid'), 'utf8'));
      expect(childPid).toBeGreaterThan(0);
      expect(isProcessAlive(childPid)).toBe(false);
      expect(report.passed).toBe(false);
      expect(qaFailureQuestion(report)).toBe('QA failed: stubborn: timed out after 1 s\nstarted');
    },
  );

  it('kills what a passing check leaves running in its group', async () => {
    const script =
      "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); require('node:fs').writeFileSync('left.pid', String(c.pid)); c.unref();";
    fx = fixture({ 'leave.cjs': script });
    const report = await runQa(
      fx.input({ checks: [check('leaves a child', ['node', 'leave.cjs'])] }),
    );
    expect(report.tools[0]?.status).toBe('passed');
    expect(isProcessAlive(Number(readFileSync(join(fx.repo, 'left.pid'), 'utf8')))).toBe(false);
  });

  it('sets CI=1 and runs argv without a shell', async () => {
    fx = fixture();
    const report = await runQa(
      fx.input({
        checks: [
          check('env', [
            'node',
            '-e',
            'console.log(`CI=${process.env.CI}`, process.argv[1])',
            '$HOME;*',
          ]),
        ],
      }),
    );
    expect(report.tools[0]?.output_tail).toBe('CI=1 $HOME;*');
  });

  it('passes trivially, saying so, when nothing is detected', async () => {
    fx = fixture({ 'README.md': '# nothing to check\n' });
    const report = await runQa(fx.input());
    expect(report).toMatchObject({ passed: true, tools: [], findings: [] });
    expect(report.summary_text).toBe('QA passed: no checks (nothing detected)');
    expect(report.detected).toMatch(/^nothing detected/);
  });

  it('gates on build and test only: a failing lint is recorded but QA passes', async () => {
    fx = fixture();
    const report = await runQa(
      fx.input({ checks: [check('lint', ['node', '-e', 'process.exit(3)'], { kind: 'lint' })] }),
    );
    expect(report).toMatchObject({
      passed: true,
      lint_passed: false,
      build_passed: true,
      test_passed: true,
    });
    expect(report.tools[0]).toMatchObject({ status: 'failed', exit_code: 3 });
  });

  it('refuses a clone that is not there rather than calling every program missing', async () => {
    fx = fixture();
    await expect(runQa(fx.input({ repoDir: join(fx.dir, 'gone') }))).rejects.toMatchObject({
      code: 'IO_FAILED',
    });
  });

  it('kills the running check and rejects when aborted (the runner shutting down)', async () => {
    fx = fixture({ 'stubborn.cjs': STUBBORN });
    const pidFile = join(fx.repo, 'child.pid');
    const abort = new AbortController();
    const running = runQa(
      fx.input({
        signal: abort.signal,
        checks: [check('stubborn', ['node', 'stubborn.cjs'], { timeout_seconds: 60 })],
      }),
    );
    const childPid = await waitUntil('the check to start its child', () =>
      existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0,
    );
    abort.abort(new Error('runner stopping'));
    await expect(running).rejects.toThrow('runner stopping');
    expect(isProcessAlive(childPid)).toBe(false);
  });

  it('looks programs up on a standard PATH when the environment has none, instead of skipping them all', async () => {
    fx = fixture();
    const report = await runQa(
      fx.input({ env: {}, checks: [check('sh', ['sh', '-c', 'exit 4'])] }),
    );
    expect(report.tools[0]).toMatchObject({ status: 'failed', exit_code: 4 });
  });
});
