import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { QaCheckConfig } from '../config/index.js';

/** A check as QA runs it: the configured fields plus what detection knows about it. */
export interface QaCheck extends QaCheckConfig {
  /** True when detection chose it (the report says so). */
  detected: boolean;
  /** Name of an install step that must have passed for this check to run. */
  needs?: string;
  /** Exit codes that count as passing (default `[0]`). */
  okExitCodes?: readonly number[];
}

/** Checks detected in a clone and one human sentence saying what was found. */
export interface DetectedChecks {
  checks: QaCheck[];
  description: string;
}

const DEFAULT_TIMEOUT_SECONDS = 600;
/** What `npm init` writes as the test script: a placeholder, not a test suite. */
const NPM_INIT_PLACEHOLDER = /no test specified/;
const packageJsonSchema = z.looseObject({
  scripts: z.record(z.string(), z.unknown()).optional(),
});
/** pytest's exit code when it collected no tests: a project without tests, not a failure. */
const PYTEST_NO_TESTS = 5;

/**
 * Detects the obvious checks of a clone when none are configured: an npm `test` script (after
 * `npm ci`/`npm install` when `node_modules` is missing), Go (`go build ./...`, `go test ./...`),
 * pytest (`pyproject.toml` or `pytest.ini`) and Cargo (`cargo test`). Nothing found → no checks.
 */
export function detectChecks(repoDir: string): DetectedChecks {
  const checks: QaCheck[] = [];
  const found: string[] = [];
  const has = (file: string): boolean => existsSync(join(repoDir, file));

  const npm = detectNpm(repoDir);
  if (npm) {
    checks.push(...npm.checks);
    found.push(npm.description);
  }
  if (has('go.mod')) {
    checks.push(check('go build ./...', ['go', 'build', './...'], 'build'));
    checks.push(check('go test ./...', ['go', 'test', './...'], 'test'));
    found.push('go.mod (go build ./..., go test ./...)');
  }
  const pyMarker = ['pytest.ini', 'pyproject.toml'].find(has);
  if (pyMarker) {
    checks.push({
      ...check('pytest -q', ['pytest', '-q'], 'test'),
      okExitCodes: [0, PYTEST_NO_TESTS],
    });
    found.push(`${pyMarker} (pytest -q)`);
  }
  if (has('Cargo.toml')) {
    checks.push(check('cargo test', ['cargo', 'test'], 'test'));
    found.push('Cargo.toml (cargo test)');
  }
  const description =
    found.length === 0
      ? 'nothing detected (no package.json test script, go.mod, pyproject.toml, pytest.ini or Cargo.toml)'
      : `detected ${found.join('; ')}`;
  return { checks, description };
}

function detectNpm(repoDir: string): DetectedChecks | undefined {
  const path = join(repoDir, 'package.json');
  if (!existsSync(path)) return undefined;
  let testScript: unknown;
  let unreadable = false;
  try {
    testScript = packageJsonSchema.parse(JSON.parse(readFileSync(path, 'utf8'))).scripts?.test;
  } catch {
    // A package.json the agent broke must fail QA, so npm gets to say why.
    unreadable = true;
  }
  if (!unreadable && (typeof testScript !== 'string' || NPM_INIT_PLACEHOLDER.test(testScript)))
    return undefined;

  const checks: QaCheck[] = [];
  const parts: string[] = [];
  if (!existsSync(join(repoDir, 'node_modules'))) {
    const lockfile = ['package-lock.json', 'npm-shrinkwrap.json'].find((f) =>
      existsSync(join(repoDir, f)),
    );
    // --no-package-lock: without a lockfile, do not leave a new one in the agent's clone.
    const install = lockfile
      ? check('npm ci', ['npm', 'ci', '--no-audit', '--no-fund'], 'build')
      : check(
          'npm install',
          ['npm', 'install', '--no-audit', '--no-fund', '--no-package-lock'],
          'build',
        );
    checks.push(install);
    parts.push(
      lockfile
        ? `node_modules missing and ${lockfile} present → npm ci`
        : 'node_modules missing and no lockfile → npm install',
    );
  }
  const install = checks[0]?.name;
  checks.push({
    ...check('npm test', ['npm', 'test'], 'test'),
    ...(install === undefined ? {} : { needs: install }),
  });
  parts.push('npm test');
  const what = unreadable ? 'package.json (unreadable)' : 'package.json test script';
  return { checks, description: `${what} (${parts.join(', ')})` };
}

function check(name: string, run: string[], kind: QaCheckConfig['kind']): QaCheck {
  return {
    name,
    run,
    kind,
    parse: 'none',
    timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
    detected: true,
  };
}
