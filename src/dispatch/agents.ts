import type { AgentsFile, BuiltInAgent, CustomAgentConfig } from '../config/index.js';
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
  /** The CLI conversation to continue (see {@link resumableSession}); a fresh run when undefined. */
  resumeSession?: string | undefined;
}

/**
 * A resolved agent command: argv (never a shell string with the prompt pasted in), env, cwd, and
 * the file fed to its stdin (the prompt file for the built-in CLIs, so a long task never meets
 * the kernel's argv limit and a task starting with `-` is never read as a flag).
 */
export interface AgentCommand {
  argv: [string, ...string[]];
  env: Record<string, string>;
  cwd: string;
  stdin?: string;
}

/** What a built-in agent needs from its argv builder. */
interface BuiltIn {
  argv: (model: string | undefined, v: LaunchVars) => [string, ...string[]];
  /** True when the CLI reads its prompt from stdin. */
  promptOnStdin: boolean;
  /** The command that continues conversation `session` instead, for a CLI that can. */
  resume?: (model: string | undefined, session: string) => [string, ...string[]];
}

const withModel = (flag: string, model: string | undefined): string[] =>
  model ? [flag, model] : [];

/**
 * The built-in agents. Each runs non-interactively with its permission prompts off (the agent
 * may edit any file and run any command the daemon's user can, inside the workspace clone it is
 * started in) and reads its prompt from stdin, which every one of these CLIs supports.
 */
const BUILT_INS: Readonly<Record<BuiltInAgent, BuiltIn>> = {
  // -p with no prompt argument reads stdin; stream-json (which needs --verbose) keeps the
  // result and error events machine-readable for failure and usage-limit detection.
  claude: {
    argv: (model) => [
      'claude',
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--dangerously-skip-permissions',
      ...withModel('--model', model),
    ],
    promptOnStdin: true,
    // The init event's session_id; claude keeps it when resuming, so the next resume works too.
    resume: (model, session) => [
      'claude',
      '-p',
      '--resume',
      session,
      '--output-format',
      'stream-json',
      '--verbose',
      '--dangerously-skip-permissions',
      ...withModel('--model', model),
    ],
  },
  // `-` as the prompt reads stdin; --json prints events, errors among them.
  codex: {
    argv: (model) => [
      'codex',
      'exec',
      '--dangerously-bypass-approvals-and-sandbox',
      '--json',
      '--color',
      'never',
      ...withModel('--model', model),
      '-',
    ],
    promptOnStdin: true,
    // `exec resume <thread_id> -`: the thread of the earlier run's `thread.started` event, the
    // new prompt again from stdin. `--color` belongs to `exec` and goes before `resume`.
    resume: (model, session) => [
      'codex',
      'exec',
      '--color',
      'never',
      'resume',
      '--dangerously-bypass-approvals-and-sandbox',
      '--json',
      ...withModel('--model', model),
      session,
      '-',
    ],
  },
  // Without -p a piped stdin runs headless; every workspace is a fresh, untrusted folder, so
  // --skip-trust is needed or gemini exits 55.
  gemini: {
    argv: (model) => [
      'gemini',
      '--yolo',
      '--skip-trust',
      '--output-format',
      'stream-json',
      ...withModel('--model', model),
    ],
    promptOnStdin: true,
  },
  // `run` with no message reads stdin; --auto approves permissions not explicitly denied
  // (without it edits needing approval are refused and opencode still exits 0).
  opencode: {
    argv: (model) => [
      'opencode',
      'run',
      '--auto',
      '--format',
      'json',
      ...withModel('--model', model),
    ],
    promptOnStdin: true,
  },
  shell: { argv: (_model, v) => ['/bin/sh', '-c', v.prompt], promptOnStdin: false },
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

/**
 * Builds the command for `agent`. An agents.yaml entry with a `command` replaces the built-in;
 * one without (allowed for built-ins only) adds its `env`, `extra_args` and default `model` to
 * the built-in command. A `:model` suffix on the agent string wins over the default model.
 */
export function agentCommand(file: AgentsFile, agent: string, vars: LaunchVars): AgentCommand {
  validateAgent(file, agent);
  const pool = poolOf(agent);
  const settings: CustomAgentConfig | undefined = file.agents[pool];
  const model = vars.model ?? settings?.model;
  const filled: LaunchVars = { ...vars, model };
  const extra = settings?.extra_args ?? [];
  const env = { ...(settings?.env ?? {}) };
  if (settings?.command) {
    const argv = [...settings.command.map((part) => fill(part, filled)), ...extra] as [
      string,
      ...string[],
    ];
    return {
      argv,
      env,
      cwd: settings.cwd === 'workspace' ? vars.workspace : vars.repoDir,
      ...(settings.stdin === 'prompt' ? { stdin: vars.promptFile } : {}),
    };
  }
  const builtIn = isBuiltIn(pool) ? BUILT_INS[pool] : undefined;
  if (!builtIn)
    throw new AgenticError('AGENT_NOT_FOUND', `unknown agent "${pool}"`, { field: 'agent' });
  const [command, ...args] =
    builtIn.resume && vars.resumeSession !== undefined
      ? builtIn.resume(model, vars.resumeSession)
      : builtIn.argv(model, filled);
  return {
    argv: [command, ...args, ...extra],
    env,
    cwd: settings?.cwd === 'workspace' ? vars.workspace : vars.repoDir,
    ...(builtIn.promptOnStdin ? { stdin: vars.promptFile } : {}),
  };
}

/**
 * The conversation a run of `agent` continues: `session` when the agent is a built-in whose CLI
 * can resume one (claude, codex) and agents.yaml does not replace its command; otherwise
 * undefined, and the run starts afresh with the answer in its prompt.
 */
export function resumableSession(
  file: AgentsFile,
  agent: string,
  session: string | undefined,
): string | undefined {
  const pool = poolOf(agent);
  if (session === undefined || file.agents[pool]?.command !== undefined) return undefined;
  return isBuiltIn(pool) && BUILT_INS[pool].resume ? session : undefined;
}

function isBuiltIn(name: string): name is BuiltInAgent {
  return Object.hasOwn(BUILT_INS, name);
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
