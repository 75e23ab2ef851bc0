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

/** The installed CLIs: their `.bin` folder, or why they could not be installed. */
export type AgentClis = { ok: true; bin: string } | { ok: false; reason: string };

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
  const marker = join(dir, 'installed.json');
  const bin = join(dir, 'node_modules', '.bin');
  try {
    if (!existsSync(marker)) install(dir, marker);
    for (const name of Object.keys(AGENT_CLIS))
      if (!existsSync(join(bin, name))) throw new Error(`${name} missing from ${bin}`);
    return { ok: true, bin };
  } catch (err) {
    const reason = `cannot install the agent CLIs into ${dir}: ${(err as Error).message}`;
    if (process.env['CI'] === 'true') throw new Error(reason, { cause: err });
    return { ok: false, reason };
  }
}

function install(dir: string, marker: string): void {
  mkdirSync(dir, { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 10 * 60 * 1000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(marker)) return;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another install');
      execFileSync('sleep', ['1']);
    }
  }
  try {
    if (existsSync(marker)) return;
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
    writeFileSync(marker, `${JSON.stringify(AGENT_CLIS)}\n`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
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
