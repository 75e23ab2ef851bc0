import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { AgentsFile, CustomAgentConfig } from '../config/index.js';
import { AgenticError } from '../lib/errors.js';
import { hasControlCharacters, hasUnsafeUnicode } from '../lib/text.js';
import { modelOf, poolOf } from '../workspace/index.js';

/** Everything an agent command may refer to. */
export interface LaunchVars {
  prompt: string;
  promptFile: string;
  model: string | undefined;
  workspace: string;
  repoDir: string;
}

/** A resolved agent command: argv (never a shell string with the prompt pasted in), env and cwd. */
export interface AgentCommand {
  argv: [string, ...string[]];
  env: Record<string, string>;
  cwd: string;
}

type Builder = (v: LaunchVars) => [string, ...string[]];

const withModel = (flag: string, model: string | undefined): string[] =>
  model ? [flag, model] : [];

/** The built-in agents (DESIGN §10; issue: dispatch). */
const BUILT_INS: Readonly<Record<string, Builder>> = {
  claude: (v) => [
    'claude',
    '-p',
    v.prompt,
    '--output-format',
    'stream-json',
    '--verbose',
    '--dangerously-skip-permissions',
    ...withModel('--model', v.model),
  ],
  codex: (v) => [
    'codex',
    'exec',
    '--dangerously-bypass-approvals-and-sandbox',
    ...withModel('--model', v.model),
    v.prompt,
  ],
  gemini: (v) => ['gemini', '-p', v.prompt, '--yolo', ...withModel('-m', v.model)],
  opencode: (v) => ['opencode', 'run', ...withModel('--model', v.model), v.prompt],
  shell: (v) => ['/bin/sh', '-c', v.prompt],
};

/** Names of every agent this config knows: built-ins plus agents.yaml `agents`. */
export function knownAgents(file: AgentsFile): string[] {
  return [...new Set([...Object.keys(BUILT_INS), ...Object.keys(file.agents)])].sort();
}

/** Longest model name accepted after `base:` (real ones are under 60 characters). */
export const MAX_MODEL_LENGTH = 200;

/**
 * Checks an agent string `base[:model]` against the known agents and returns it normalised.
 * Throws AGENT_NOT_FOUND (a usage error) listing the known agents.
 */
export function validateAgent(file: AgentsFile, agent: string): string {
  const pool = poolOf(agent);
  const model = modelOf(agent);
  if (pool === '' || !knownAgents(file).includes(pool)) {
    throw new AgenticError(
      'AGENT_NOT_FOUND',
      `unknown agent "${pool}"; known agents: ${knownAgents(file).join(', ')} (add your own under agents: in agents.yaml)`,
      { field: 'agent' },
    );
  }
  if (
    model !== undefined &&
    (model === '' ||
      model.length > MAX_MODEL_LENGTH ||
      /\s/.test(model) ||
      hasControlCharacters(model) ||
      hasUnsafeUnicode(model) ||
      model.startsWith('-'))
  ) {
    const shown =
      model.length > 60
        ? `${JSON.stringify(model.slice(0, 60))}… (${model.length} characters)`
        : JSON.stringify(model);
    throw new AgenticError(
      'INPUT_INVALID',
      `agent model ${shown} is not a valid model name: at most ${MAX_MODEL_LENGTH} characters, no whitespace, control or format characters, not starting with "-"`,
      { field: 'agent' },
    );
  }
  return agent;
}

/** Builds the command for `agent` (custom agents in agents.yaml take precedence over built-ins). */
export function agentCommand(file: AgentsFile, agent: string, vars: LaunchVars): AgentCommand {
  validateAgent(file, agent);
  const pool = poolOf(agent);
  const custom: CustomAgentConfig | undefined = file.agents[pool];
  if (custom) {
    const argv = custom.command.map((part) => fill(part, vars)) as [string, ...string[]];
    return {
      argv,
      env: { ...(custom.env ?? {}) },
      cwd: custom.cwd === 'workspace' ? vars.workspace : vars.repoDir,
    };
  }
  const build = BUILT_INS[pool];
  if (!build)
    throw new AgenticError('AGENT_NOT_FOUND', `unknown agent "${pool}"`, { field: 'agent' });
  return { argv: build(vars), env: {}, cwd: vars.repoDir };
}

function fill(template: string, v: LaunchVars): string {
  return template.replace(
    /\{(prompt|prompt_file|model|workspace|repo_dir)\}/g,
    (_m, key: string) => {
      switch (key) {
        case 'prompt':
          return v.prompt;
        case 'prompt_file':
          return v.promptFile;
        case 'model':
          return v.model ?? '';
        case 'workspace':
          return v.workspace;
        default:
          return v.repoDir;
      }
    },
  );
}

/** Finds an executable on PATH (or checks an explicit path); undefined when it cannot be run. */
export function findExecutable(command: string, path: string | undefined): string | undefined {
  const candidates = command.includes('/')
    ? [command]
    : (path ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    if (!isAbsolute(candidate) && !command.includes('/')) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next PATH entry
    }
  }
  return undefined;
}
