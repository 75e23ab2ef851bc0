import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { readRecord } from '../../src/lifecycle/index.js';
import { GROUPS } from '../../src/store/index.js';
import type { RealCli } from '../helpers/agent-clis.js';
import { json, runCli } from '../helpers/cli.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import {
  GIT_ENV,
  makeSourceRepo,
  startDaemon,
  waitUntil,
  writeAgentsYaml,
  type Daemon,
} from '../helpers/dispatch.js';
import {
  sendJson,
  startModelApi,
  type ModelApi,
  type ModelBehaviour,
  type Responder,
} from '../helpers/model-apis.js';
import { anthropicResponder } from './anthropic-api.js';
import { geminiResponder } from './gemini-api.js';
import { openaiChatResponder } from './openai-chat-api.js';
import { openaiResponsesResponder } from './openai-responses-api.js';

/** Which stand-in each CLI talks to. */
const RESPONDERS: Readonly<Record<RealCli, Responder>> = {
  claude: anthropicResponder,
  codex: openaiResponsesResponder,
  gemini: geminiResponder,
  opencode: openaiChatResponder,
};

/** The model each test dispatches with (`agent:model`), one the CLI knows the tools of. */
export const MODELS: Readonly<Record<RealCli, string>> = {
  claude: 'claude-sonnet-4-5',
  codex: 'gpt-5.5',
  gemini: 'gemini-2.5-flash',
  opencode: 'standin/standin-model',
};

/** One real CLI against its stand-in, in a fresh CoreRoot (also the CLI's HOME). */
export interface Scenario {
  root: TempRoot;
  repo: string;
  api: ModelApi;
  /**
   * A stand-in npm registry that answers 404 and records every request: the CLI is pointed at
   * it, so a test can prove a run fetched nothing from the registry.
   */
  registry: ModelApi;
  env: Record<string, string>;
  /** `agentic dispatch --wait --json`: the final summary and the exit code. */
  dispatchWait(
    task: string,
    agent?: string,
  ): Promise<{ code: number | null; summary: Record<string, unknown> }>;
  /** `agentic dispatch` to a running daemon; the workspace name. */
  dispatch(task: string, agent?: string): Promise<string>;
  startDaemon(): Promise<Daemon>;
  record(name: string): Promise<Record<string, unknown> | undefined>;
  /** The directory of a workspace. */
  workspaceDir(name: string): string;
  close(): Promise<void>;
}

/** Options for a scenario: the stand-in's behaviour and extra agents.yaml text. */
export interface ScenarioOptions {
  behaviour: ModelBehaviour;
  /** Extra `dispatch:` keys, e.g. a short timeout. */
  dispatchYaml?: string;
  /** Env for the CLI beyond what its stand-in needs (empty strings leave a key out). */
  agentEnv?: Record<string, string>;
  /** Extra opencode.json keys (opencode only). */
  opencodeConfig?: Record<string, unknown>;
}

/** Where the installed CLIs are: their `.bin` folder and opencode's warmed config folder. */
export interface CliInstall {
  bin: string;
  opencodeConfig: string;
}

/** Starts the stand-in, writes the CLI's config into HOME and agents.yaml, and makes a source repo. */
export async function scenario(
  cli: RealCli,
  install: CliInstall,
  options: ScenarioOptions,
): Promise<Scenario> {
  const root = tempRoot(`agentic-${cli}-`);
  const repo = makeSourceRepo(root);
  const api = await startModelApi(RESPONDERS[cli], options.behaviour);
  const registry = await startModelApi(
    (_req, res) => sendJson(res, 404, { error: 'not found' }),
    options.behaviour,
  );
  const agentEnv = Object.fromEntries(
    Object.entries({
      ...cliEnv(cli, root, api.url, install, options),
      npm_config_registry: `${registry.url}/`,
      ...options.agentEnv,
    }).filter(([, v]) => v !== ''),
  );
  writeAgentsYaml(
    root,
    [
      'dispatch:',
      '  failure_backoff: { count: 0 }',
      ...(options.dispatchYaml ?? '').split('\n').filter(Boolean),
      'agents:',
      `  ${cli}:`,
      `    env: ${JSON.stringify(agentEnv)}`,
      '',
    ].join('\n'),
  );
  const env = {
    ...root.env,
    ...GIT_ENV,
    PATH: `${install.bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
  };
  const agent = `${cli}:${MODELS[cli]}`;
  const daemons: Daemon[] = [];
  return {
    root,
    repo,
    api,
    registry,
    env,
    async dispatchWait(task, as = agent) {
      // The task goes on stdin: a task past 128 KiB cannot be one argument of ours either.
      const res = await runCli(
        ['dispatch', '--repo', repo, '--agent', as, '--task-file', '-', '--wait', '--json'],
        env,
        { input: task, timeoutMs: 120_000 },
      );
      return { code: res.code, summary: json(res) };
    },
    async dispatch(task, as = agent) {
      const res = await runCli(
        ['dispatch', '--repo', repo, '--agent', as, '--task-file', '-', '--json'],
        env,
        { input: task },
      );
      return String(json(res)['workspace']);
    },
    async startDaemon() {
      const d = await startDaemon(root, env);
      daemons.push(d);
      return d;
    },
    async record(name) {
      const ctx = testContext(root);
      try {
        return await readRecord(ctx, name);
      } finally {
        await ctx.close();
      }
    },
    workspaceDir: (name) => join(root.coreRoot, 'workspace', name),
    async close() {
      for (const d of daemons) await d.stop('SIGKILL');
      await api.close();
      await registry.close();
      // A CLI's own background work (opencode installs its plugins into HOME) may still be
      // finishing a write: retry instead of failing on ENOTEMPTY.
      rmSync(root.coreRoot, { recursive: true, force: true, maxRetries: 60, retryDelay: 250 });
    },
  };
}

/** Points each CLI at its stand-in by its documented settings, written into the temp HOME. */
function cliEnv(
  cli: RealCli,
  root: TempRoot,
  url: string,
  install: CliInstall,
  options: ScenarioOptions,
): Record<string, string> {
  const home = root.coreRoot;
  switch (cli) {
    case 'claude':
      // No retries of its own: a 429 or a refused key must end the run, not back off for minutes.
      return {
        ANTHROPIC_BASE_URL: url,
        ANTHROPIC_API_KEY: 'sk-ant-standin',
        CLAUDE_CODE_MAX_RETRIES: '0',
        IS_SANDBOX: '1',
        DISABLE_AUTOUPDATER: '1',
      };
    case 'codex':
      mkdirSync(join(home, '.codex'), { recursive: true });
      writeFileSync(
        join(home, '.codex', 'config.toml'),
        [
          'model_provider = "standin"',
          '[model_providers.standin]',
          'name = "standin"',
          `base_url = "${url}/v1"`,
          'wire_api = "responses"',
          'env_key = "STANDIN_API_KEY"',
          'request_max_retries = 0',
          'stream_max_retries = 0',
          '',
        ].join('\n'),
      );
      return { STANDIN_API_KEY: 'sk-standin' };
    case 'gemini':
      // GOOGLE_GEMINI_BASE_URL alone selects the "gateway" auth, which headless mode rejects.
      mkdirSync(join(home, '.gemini'), { recursive: true });
      writeFileSync(
        join(home, '.gemini', 'settings.json'),
        JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }),
      );
      return { GEMINI_API_KEY: 'standin', GOOGLE_GEMINI_BASE_URL: url };
    case 'opencode': {
      // Opencode installs its plugin package into its config folder from the registry when
      // that folder has none; the warmed copy made with the CLIs stands in for it (shared
      // node_modules, own package files), so a run never waits on the registry.
      const config = join(home, '.config', 'opencode');
      mkdirSync(config, { recursive: true });
      for (const file of ['package.json', 'package-lock.json'])
        copyFileSync(join(install.opencodeConfig, file), join(config, file));
      symlinkSync(join(install.opencodeConfig, 'node_modules'), join(config, 'node_modules'));
      writeFileSync(
        join(config, 'opencode.json'),
        JSON.stringify({
          $schema: 'https://opencode.ai/config.json',
          autoupdate: false,
          share: 'disabled',
          provider: {
            standin: {
              npm: '@ai-sdk/openai-compatible',
              name: 'Stand-in',
              options: { baseURL: `${url}/v1`, apiKey: 'sk-standin' },
              models: { 'standin-model': { name: 'Stand-in', tool_call: true } },
            },
          },
          ...options.opencodeConfig,
        }),
      );
      // Its model catalogue comes from models.dev at start; the stand-in provider needs none.
      return { OPENCODE_DISABLE_MODELS_FETCH: '1' };
    }
  }
}

/** Waits for a record to satisfy `check` (a daemon runs it), with a generous deadline. */
export async function waitForRecord(
  s: Scenario,
  name: string,
  what: string,
  check: (r: Record<string, unknown>) => boolean,
  timeoutMs = 150_000,
): Promise<Record<string, unknown>> {
  return waitUntil(
    what,
    async () => {
      const r = await s.record(name);
      return r && check(r) ? r : undefined;
    },
    timeoutMs,
  );
}

/** The pool's back-off deadline from the state store, in ms since the epoch (NaN when none). */
export async function backoffOf(s: Scenario, pool: string): Promise<number> {
  const ctx = testContext(s.root);
  try {
    const backoff = (await (await ctx.store()).get(GROUPS.runtime, 'backoff')) as
      Record<string, string> | undefined;
    return Date.parse(backoff?.[pool] ?? '');
  } finally {
    await ctx.close();
  }
}

/**
 * Pids of live processes started for workspace `name` (they inherit AGENTIC_WORKSPACE), found
 * through /proc, so a CLI's helper that left the process group is found too.
 */
export function processesOf(name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(join('/proc', entry, 'environ'), 'utf8');
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && environ.split('\0').includes(`AGENTIC_WORKSPACE=${name}`))
        out.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/** A task that starts with `-` (a bullet list), longer than the old 128 KiB argv limit. */
export function bulletTask(path: string): string {
  const filler = '- context line that pads the task well past the argument-size limit\n'.repeat(
    2100,
  );
  return `- write ${path}\n- then stop\n${filler}`;
}
