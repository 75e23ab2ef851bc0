import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The agent CLIs the real-CLI tests run, at pinned versions. Bump one only with the `agents`
 * tests green against it: the README's agent table states what these versions were proven to do.
 */
export const AGENT_CLIS = {
  claude: { pkg: '@anthropic-ai/claude-code', version: '2.1.332' },
  codex: { pkg: '@openai/codex', version: '0.171.0' },
  gemini: { pkg: '@google/gemini-cli', version: '0.61.0' },
  opencode: { pkg: 'opencode-ai', version: '1.18.33' },
} as const;

/** A built-in agent the real-CLI tests cover. */
export type RealCli = keyof typeof AGENT_CLIS;

const repoRoot = join(import.meta.dirname, '..', '..');

/**
 * Where the CLIs are installed: `$AGENTIC_AGENT_CLI_CACHE`, else `<repo>/.cache/agent-clis`
 * (ignored by git), one folder per set of versions so a bump never reuses an old install.
 */
export function agentCliDir(): string {
  const base = process.env['AGENTIC_AGENT_CLI_CACHE'] ?? join(repoRoot, '.cache', 'agent-clis');
  const key = createHash('sha256').update(JSON.stringify(AGENT_CLIS)).digest('hex').slice(0, 12);
  return join(base, key);
}

/**
 * The installed CLIs: their `.bin` folder and opencode's warmed config folder
 * ({@link opencodeConfigDir}), or why they could not be installed.
 */
export type AgentClis =
  { ok: true; bin: string; opencodeConfig: string } | { ok: false; reason: string };

/**
 * A warmed copy of what opencode installs into its config folder (`~/.config/opencode`) on
 * every start when it is missing: the `@opencode-ai/plugin` package at opencode's own version,
 * fetched from the npm registry in the background. A test links it into each fresh HOME so no
 * run depends on the registry.
 */
export function opencodeConfigDir(): string {
  return join(agentCliDir(), 'opencode-config');
}

const POSTINSTALL: ReadonlyArray<[string, string]> = [
  ['@anthropic-ai/claude-code', 'install.cjs'],
  ['opencode-ai', 'postinstall.mjs'],
];

const LOCK_STALE_MS = 15 * 60 * 1000;

/**
 * Installs the four CLIs with npm into {@link agentCliDir} once (not the project's
 * dependencies), then reuses them. Several test files may call it at once: one takes a lock
 * directory, the others wait for its marker. Install scripts are skipped but for the two that
 * link claude's and opencode's platform binaries into place, and each CLI must then print its
 * version before the install counts. Under CI a failed install throws, so a
 * missing collaborator fails the suite; elsewhere it returns the reason, to skip.
 */
export function ensureAgentClis(): AgentClis {
  const dir = agentCliDir();
  const markers = [join(dir, 'installed.json'), join(opencodeConfigDir(), 'installed.json')];
  const bin = join(dir, 'node_modules', '.bin');
  try {
    if (!markers.every((m) => existsSync(m))) install(dir, markers);
    for (const name of Object.keys(AGENT_CLIS))
      if (!existsSync(join(bin, name))) throw new Error(`${name} missing from ${bin}`);
    return { ok: true, bin, opencodeConfig: opencodeConfigDir() };
  } catch (err) {
    const reason = `cannot install the agent CLIs into ${dir}: ${(err as Error).message}`;
    if (process.env['CI'] === 'true') throw new Error(reason, { cause: err });
    return { ok: false, reason };
  }
}

function install(dir: string, markers: string[]): void {
  const done = (): boolean => markers.every((m) => existsSync(m));
  mkdirSync(dir, { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 10 * 60 * 1000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (done()) return;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another install');
      execFileSync('sleep', ['1']);
    }
  }
  try {
    if (!existsSync(join(dir, 'installed.json'))) installClis(dir);
    if (!existsSync(join(opencodeConfigDir(), 'installed.json'))) warmOpencodeConfig();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function installClis(dir: string): void {
  const specs = Object.values(AGENT_CLIS).map((c) => `${c.pkg}@${c.version}`);
  execFileSync(
    'npm',
    ['install', '--prefix', dir, '--no-audit', '--no-fund', '--ignore-scripts', ...specs],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10 * 60 * 1000, cwd: dir },
  );
  // The two install scripts that put the platform binary in place; gemini's and codex's need
  // none (node-pty's native build is optional and slow, so no script runs by default).
  for (const [pkg, script] of POSTINSTALL)
    execFileSync(process.execPath, [script], {
      cwd: join(dir, 'node_modules', pkg),
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 5 * 60 * 1000,
    });
  for (const name of Object.keys(AGENT_CLIS))
    execFileSync(join(dir, 'node_modules', '.bin', name), ['--version'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60_000,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir },
    });
  writeFileSync(join(dir, 'installed.json'), `${JSON.stringify(AGENT_CLIS)}\n`);
}

/**
 * Installs into {@link opencodeConfigDir} what opencode would install into its config folder,
 * the way it does: the plugin package at opencode's version, install scripts off. Opencode
 * skips its own install when that folder has `node_modules` and a lock naming every dependency
 * of its package.json.
 */
function warmOpencodeConfig(): void {
  const config = opencodeConfigDir();
  rmSync(config, { recursive: true, force: true });
  mkdirSync(config, { recursive: true });
  writeFileSync(
    join(config, 'package.json'),
    `${JSON.stringify({ dependencies: { '@opencode-ai/plugin': AGENT_CLIS.opencode.version } })}\n`,
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--save-exact'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10 * 60 * 1000,
    cwd: config,
  });
  writeFileSync(join(config, 'installed.json'), `${JSON.stringify(AGENT_CLIS.opencode)}\n`);
}

/** The version the installed CLI reports (for failure messages and the suite's record). */
export function installedVersion(cli: RealCli): string {
  const pkg = JSON.parse(
    readFileSync(join(agentCliDir(), 'node_modules', AGENT_CLIS[cli].pkg, 'package.json'), 'utf8'),
  ) as { version: string };
  return pkg.version;
}

// `tsx test/helpers/agent-clis.ts` installs them ahead of the tests (.ci/run does).
if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const result = ensureAgentClis();
  process.stdout.write(result.ok ? `agent CLIs in ${result.bin}\n` : `${result.reason}\n`);
  if (!result.ok) process.exitCode = 1;
}
