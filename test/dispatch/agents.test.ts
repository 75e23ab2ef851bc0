import { describe, expect, it } from 'vitest';
import { parseAgentsFile } from '../../src/config/agents-file.js';
import { agentCommand, resumableSession, type LaunchVars } from '../../src/dispatch/agents.js';
import { buildPrompt } from '../../src/dispatch/prompt.js';

const vars = (prompt: string, model?: string): LaunchVars => ({
  prompt,
  promptFile: '/ws/.meta/prompt.md',
  model,
  workspace: '/ws',
  repoDir: '/ws/repo',
});

describe('built-in agent command lines', () => {
  const none = parseAgentsFile('', 'agents.yaml');

  it.each(['claude', 'codex', 'gemini', 'opencode'])(
    '%s reads its prompt from the prompt file on stdin, never from argv',
    (agent) => {
      const task = `- a bullet that looks like a flag\n${'x'.repeat(200_000)}`;
      const command = agentCommand(none, agent, vars(task));
      expect(command.stdin).toBe('/ws/.meta/prompt.md');
      expect(command.argv.join(' ')).not.toContain('a bullet');
      expect(command.argv.join(' ').length).toBeLessThan(300);
      expect(command.cwd).toBe('/ws/repo');
    },
  );

  it('turns permission prompts off and trusts the workspace for each CLI', () => {
    const argv = (agent: string): string[] => agentCommand(none, agent, vars('t')).argv;
    expect(argv('claude')).toEqual(
      expect.arrayContaining(['-p', '--dangerously-skip-permissions', 'stream-json']),
    );
    expect(argv('codex')).toEqual(
      expect.arrayContaining(['exec', '--dangerously-bypass-approvals-and-sandbox', '--json']),
    );
    expect(argv('codex').at(-1)).toBe('-');
    expect(argv('gemini')).toEqual(expect.arrayContaining(['--yolo', '--skip-trust']));
    expect(argv('opencode')).toEqual(expect.arrayContaining(['run', '--auto', 'json']));
  });

  it('keeps the shell agent on argv with no stdin', () => {
    const command = agentCommand(none, 'shell', vars('echo hi'));
    expect(command.argv).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(command.stdin).toBeUndefined();
  });
});

describe('per-agent settings for built-ins', () => {
  const file = parseAgentsFile(
    [
      'agents:',
      '  claude:',
      '    env: { IS_SANDBOX: "1" }',
      '    extra_args: ["--max-turns", "40"]',
      '    model: sonnet',
    ].join('\n'),
    'agents.yaml',
  );

  it('adds env, extra args and the default model to the built-in command', () => {
    const command = agentCommand(file, 'claude', vars('t'));
    expect(command.argv[0]).toBe('claude');
    expect(command.argv).toEqual(expect.arrayContaining(['--dangerously-skip-permissions']));
    expect(command.argv.slice(-4)).toEqual(['--model', 'sonnet', '--max-turns', '40']);
    expect(command.env).toEqual({ IS_SANDBOX: '1' });
    expect(command.stdin).toBe('/ws/.meta/prompt.md');
  });

  it('lets a :model suffix win over the default model', () => {
    const command = agentCommand(file, 'claude:opus', vars('t', 'opus'));
    expect(command.argv).toEqual(expect.arrayContaining(['--model', 'opus']));
    expect(command.argv).not.toContain('sonnet');
  });

  it('rejects an entry without a command for a name that is not built in', () => {
    expect(() => parseAgentsFile('agents:\n  mine:\n    env: { A: "1" }\n', 'agents.yaml')).toThrow(
      /agents\.mine\.command: .*not a built-in agent/,
    );
  });

  it('feeds the prompt file to a custom command on stdin when asked', () => {
    const custom = parseAgentsFile(
      'agents:\n  mine:\n    command: ["my-agent", "--model", "{model}"]\n    stdin: prompt\n    model: m1\n',
      'agents.yaml',
    );
    const command = agentCommand(custom, 'mine', vars('t'));
    expect(command.argv).toEqual(['my-agent', '--model', 'm1']);
    expect(command.stdin).toBe('/ws/.meta/prompt.md');
  });
});

describe('resuming the conversation of an earlier run', () => {
  const none = parseAgentsFile('', 'agents.yaml');
  const resume = (agent: string): string[] =>
    agentCommand(none, agent, { ...vars('t', 'm1'), resumeSession: 'sess-1' }).argv;

  it('starts claude with --resume <session> and codex with exec resume <thread> -, prompt on stdin', () => {
    expect(resume('claude')).toEqual([
      'claude',
      '-p',
      '--resume',
      'sess-1',
      '--output-format',
      'stream-json',
      '--verbose',
      '--dangerously-skip-permissions',
      '--model',
      'm1',
    ]);
    expect(resume('codex')).toEqual([
      'codex',
      'exec',
      '--color',
      'never',
      'resume',
      '--dangerously-bypass-approvals-and-sandbox',
      '--json',
      '--model',
      'm1',
      'sess-1',
      '-',
    ]);
    expect(agentCommand(none, 'codex', { ...vars('t'), resumeSession: 'x' }).stdin).toBe(
      '/ws/.meta/prompt.md',
    );
  });

  it('resumes only built-ins whose CLI can, and not when agents.yaml replaces the command', () => {
    expect(resumableSession(none, 'claude:opus', 's')).toBe('s');
    expect(resumableSession(none, 'codex', 's')).toBe('s');
    expect(resumableSession(none, 'gemini', 's')).toBeUndefined();
    expect(resumableSession(none, 'opencode', 's')).toBeUndefined();
    expect(resumableSession(none, 'claude', undefined)).toBeUndefined();
    const replaced = parseAgentsFile(
      'agents:\n  claude:\n    command: [my-claude, "{prompt}"]\n',
      'agents.yaml',
    );
    expect(resumableSession(replaced, 'claude', 's')).toBeUndefined();
    // A session on a CLI that cannot resume gives the fresh command line.
    expect(agentCommand(none, 'gemini', { ...vars('t'), resumeSession: 's' }).argv).not.toContain(
      's',
    );
  });

  it('a resumed prompt carries only the answer; a fresh one the preamble, task and answer', () => {
    const parts = {
      task: 'TASK-TEXT',
      branch: 'b',
      base: 'main',
      workspace: 'w',
      repoDir: '/r',
      answer: 'use option B\n',
      continueAfterLimit: false,
    };
    const resumed = buildPrompt(undefined, { ...parts, resumed: true });
    expect(resumed).toMatch(/^The answer to your question/);
    expect(resumed).toContain('use option B');
    expect(resumed).not.toContain('TASK-TEXT');
    const fresh = buildPrompt(undefined, parts);
    expect(fresh).toContain('TASK-TEXT');
    expect(fresh).toContain('use option B');
  });
});
