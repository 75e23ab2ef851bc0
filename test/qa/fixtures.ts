import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { QaCheckConfig } from '../../src/config/index.js';
import type { QaInput } from '../../src/qa/index.js';

/** A temp directory holding a fixture repository (`repo/`) and a workspace `.meta` beside it. */
export interface Fixture {
  dir: string;
  repo: string;
  write(file: string, text: string): void;
  input(overrides?: Partial<QaInput>): QaInput;
  cleanup(): void;
}

/** The test process's environment as plain strings (what the runner would pass to QA). */
export function hostEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

/** Makes a fixture with the given files in its repository. */
export function fixture(files: Record<string, string> = {}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'agentic-qa-'));
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  const write = (file: string, text: string): void => {
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    writeFileSync(join(repo, file), text);
  };
  for (const [file, text] of Object.entries(files)) write(file, text);
  return {
    dir,
    repo,
    write,
    input: (overrides = {}) => ({
      workspace: 'core/demo/task-1',
      repoDir: repo,
      commit: '0123456789abcdef0123456789abcdef01234567',
      checks: undefined,
      history: [],
      changes: { commits: 1, files_changed: 1, insertions: 2, deletions: 0 },
      env: hostEnv(),
      now: () => new Date(),
      logDir: join(dir, '.meta', 'qa'),
      killGraceMs: 500,
      ...overrides,
    }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A configured check with the schema's defaults filled in. */
export function check(
  name: string,
  run: string[],
  more: Partial<QaCheckConfig> = {},
): QaCheckConfig {
  return { name, run, timeout_seconds: 60, kind: 'test', parse: 'none', ...more };
}

/** A package.json whose test script runs `script` with node (no dependencies). */
export function packageJson(script: string): string {
  return JSON.stringify({
    name: 'fixture',
    version: '1.0.0',
    private: true,
    scripts: { test: `node -e "${script}"` },
  });
}
