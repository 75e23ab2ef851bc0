import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Absolute path of the built CLI. */
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** Result of one CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `agentic` CLI as a real child process with only the given env (plus PATH). */
export function runCli(
  args: string[],
  env: Record<string, string>,
  options: { input?: string; timeoutMs?: number; launcher?: string[] } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...words] = [...(options.launcher ?? []), process.execPath, CLI, ...args];
    const child = spawn(cmd!, words, {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Parses the one JSON document a `--json` run printed. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `stdout is not one JSON document (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
}
