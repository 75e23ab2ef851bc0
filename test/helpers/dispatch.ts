import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './cli.js';
import type { TempRoot } from './context.js';

/** Git identity for test repositories (CI runs as root with no git config). */
export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'agentic test',
  GIT_AUTHOR_EMAIL: 'test@agentic.invalid',
  GIT_COMMITTER_NAME: 'agentic test',
  GIT_COMMITTER_EMAIL: 'test@agentic.invalid',
};

/** Creates a small git repository with one commit on branch `trunk`; returns its path. */
export function makeSourceRepo(root: TempRoot, name = 'demo-repo'): string {
  const dir = join(root.coreRoot, 'src', name);
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]): void => {
    execFileSync('git', args, { cwd: dir, env: { ...process.env, ...GIT_ENV }, stdio: 'ignore' });
  };
  git('init', '-q', '-b', 'trunk');
  writeFileSync(join(dir, 'README.md'), '# demo\n');
  git('add', '.');
  git('commit', '-q', '-m', 'initial');
  return dir;
}

/** Writes `<CoreRoot>/agents.yaml`. */
export function writeAgentsYaml(root: TempRoot, yaml: string): void {
  writeFileSync(join(root.coreRoot, 'agents.yaml'), yaml);
}

/** Polls `check` every 20 ms until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A daemon (`agentic daemon`) running as a real child process. */
export interface Daemon {
  /** The spawned process: the daemon, or the launcher (`nsenter`) in front of it. */
  proc: ChildProcess;
  /** The daemon's own host pid. */
  pid: number;
  /** Signals the daemon itself. */
  kill(signal: NodeJS.Signals): void;
  stderr(): string;
  /** What it wrote on stdout (the daemon logs on stderr; stdout should stay quiet). */
  stdout(): string;
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `agentic daemon` on the root and waits until it holds the lease and listens for
 * wake-ups. With `launcher` (command words, e.g. `nsenter … --`), the daemon runs as that
 * launcher's one child.
 */
export async function startDaemon(
  root: TempRoot,
  extraEnv: Record<string, string> = {},
  /** The log text that counts as started (default: the runner's start). */
  ready = 'runner started',
  launcher: string[] = [],
): Promise<Daemon> {
  let stderr = '';
  let stdout = '';
  const [cmd, ...args] = [...launcher, process.execPath, CLI, 'daemon', '--log-level', 'info'];
  const proc = spawn(cmd!, args, {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...GIT_ENV, ...root.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  await waitUntil(
    'daemon to start',
    () => stderr.includes(ready) || proc.exitCode !== null,
    20_000,
  );
  if (proc.exitCode !== null) throw new Error(`daemon exited: ${stderr}`);
  const pid = launcher.length === 0 ? proc.pid! : await launchedChild(proc.pid!);
  const kill = (signal: NodeJS.Signals): void => {
    try {
      process.kill(pid, signal);
      // A launcher stops itself when its child stops: it must go on too, to see the exit.
      if (signal === 'SIGCONT' && pid !== proc.pid) proc.kill('SIGCONT');
    } catch {
      // already gone
    }
  };
  return {
    proc,
    pid,
    kill,
    stderr: () => stderr,
    stdout: () => stdout,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) kill(signal);
      return exited;
    },
  };
}

/** The one child a launcher (`nsenter`, `unshare --fork`) runs, once it exists. */
export function launchedChild(launcher: number): Promise<number> {
  return waitUntil(`process ${launcher} to start its child`, () => {
    try {
      return Number(
        readFileSync(`/proc/${launcher}/task/${launcher}/children`, 'utf8').split(' ')[0],
      );
    } catch {
      return 0;
    }
  });
}

/** A shell snippet that waits for `gate` to exist, but gives up after 60 s so no test leaves an agent behind. */
export function waitForGate(gate: string): string {
  return `i=0; while [ ! -f ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`;
}
