import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TempRoot } from '../helpers/context.js';
import { DeliverFixture } from '../helpers/deliver.js';
import { startDaemon, waitUntil, writeAgentsYaml } from '../helpers/dispatch.js';
import { git } from '../helpers/git.js';

describe('closing out a finished run: prompt, QA and fix rounds', () => {
  let f: DeliverFixture;
  let root: TempRoot;
  let repo: string;

  beforeEach(() => {
    f = new DeliverFixture();
    root = f.root;
    repo = f.repo;
  });
  afterEach(() => f.cleanup());

  const cli = (args: string[]) => f.cli(args);
  const dispatchWait = (task: string, agent = 'shell', extra: string[] = []) =>
    f.dispatchWait(task, extra, agent);
  const wsDir = (name: string) => f.dir(name);
  const status = (name: string) => f.status(name);

  // A custom agent that keeps the prompt it was given and answers its question once.
  const PROMPT_AGENT = [
    'agents:',
    '  echoer:',
    '    command: [/bin/sh, -c, "cp \\"$0\\" ../.meta/seen-$AGENTIC_RUN.md; test -f ANSWER.md || echo \\"which API?\\" > BLOCKED.md", "{prompt_file}"]',
  ].join('\n');

  it('tells the agent the rules, and includes the answer when it resumes', async () => {
    writeAgentsYaml(root, `qa: off\n${PROMPT_AGENT}\n`);
    const first = await dispatchWait('- rename the flag', 'echoer', ['--issue', '5']);
    expect(first.status).toBe('blocked');
    const prompt = readFileSync(join(wsDir(first.workspace), '.meta', 'seen-1.md'), 'utf8');
    const branch = String(status(first.workspace)['branch']);
    expect(prompt).toContain(`on the branch ${branch} (started from trunk)`);
    expect(prompt).toContain('commit your work');
    expect(prompt).toContain('BLOCKED.md');
    expect(prompt).toMatch(/Task:\n- rename the flag$/);
    const resumed = await cli(['resume', first.workspace, '--answer', 'Use the v2 API']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const daemon = await startDaemon(root);
    try {
      const second = join(wsDir(first.workspace), '.meta', 'seen-2.md');
      await waitUntil(
        'the resumed run',
        () => existsSync(second) && status(first.workspace)['status'] === 'completed',
        60_000,
      );
      const again = readFileSync(second, 'utf8');
      expect(again).toContain('Use the v2 API');
      expect(again).toContain('Task:\n- rename the flag');
    } finally {
      await daemon.stop();
    }
  });

  it('replaces the preamble with dispatch.prompt_template and rejects a template without {task}', async () => {
    writeAgentsYaml(
      root,
      `qa: off\ndispatch:\n  prompt_template: "Branch {branch} of {workspace}: {task} (no braces: {literal})"\n${PROMPT_AGENT}\n`,
    );
    const bad = await cli(['status']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('dispatch.prompt_template');
    writeAgentsYaml(
      root,
      `qa: off\ndispatch:\n  prompt_template: "Branch {branch} of {workspace}: {task}"\n${PROMPT_AGENT}\n`,
    );
    const first = await dispatchWait('do {branch} it', 'echoer');
    const prompt = readFileSync(join(wsDir(first.workspace), '.meta', 'seen-1.md'), 'utf8');
    expect(prompt).toBe(
      `Branch ${String(status(first.workspace)['branch'])} of ${first.workspace}: do {branch} it`,
    );
    const missing = 'qa: off\ndispatch:\n  prompt_template: "no task here"\n';
    writeAgentsYaml(root, missing);
    const res = await cli(['status']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('must contain {task}');
  });

  it('fails the workspace when QA fails, naming the check and its last lines', async () => {
    writeAgentsYaml(
      root,
      'qa:\n  checks:\n    - { name: unit, run: [sh, -c, "echo 1 test failed: fixed.txt missing; test -f fixed.txt"], kind: test }\n',
    );
    const done = await dispatchWait('echo broken > broken.txt');
    expect(done.status).toBe('failed');
    expect(done.question).toMatch(/^QA failed: unit/);
    expect(done.question).toContain('fixed.txt missing');
    const record = status(done.workspace);
    expect(record['qa']).toMatchObject({ passed: false });
    const report = JSON.parse(
      readFileSync(join(wsDir(done.workspace), '.meta', 'report.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(report).toMatchObject({ workspace: done.workspace, passed: false, test_passed: false });
    expect(report['commit']).toBe(git(join(wsDir(done.workspace), 'repo'), 'rev-parse', 'HEAD'));
  });

  it('resumes the agent with the QA failure as its answer and passes on the second round', async () => {
    writeAgentsYaml(
      root,
      [
        'qa:',
        '  fix_rounds: 2',
        '  checks:',
        '    - { name: unit, run: [sh, -c, "test -f fixed.txt || { echo expected fixed.txt; exit 1; }"], kind: test }',
        'deliver: { mode: branch }',
      ].join('\n'),
    );
    const task =
      'if [ -f ANSWER.md ]; then cp ANSWER.md ../.meta/fix-answer.md; echo ok > fixed.txt; else echo first > first.txt; fi';
    const done = await dispatchWait(task);
    expect(done.status).toBe('completed');
    const record = status(done.workspace);
    expect(record['runs']).toBe(2);
    expect(record['qa_round']).toBe(1);
    expect(record['qa']).toMatchObject({ passed: true });
    const answer = readFileSync(join(wsDir(done.workspace), '.meta', 'fix-answer.md'), 'utf8');
    expect(answer).toContain('unit');
    expect(answer).toContain('expected fixed.txt');
    const clone = join(wsDir(done.workspace), 'repo');
    expect(git(clone, 'log', '--format=%s', 'trunk..HEAD').split('\n')).toHaveLength(2);
    expect(git(clone, 'ls-files')).not.toContain('ANSWER.md');
    expect(git(repo, 'rev-parse', String(record['branch']))).toBe(git(clone, 'rev-parse', 'HEAD'));
  });
});
