import { afterEach, describe, expect, it } from 'vitest';
import { detectChecks } from '../../src/qa/index.js';
import { fixture, packageJson, type Fixture } from './fixtures.js';

describe('detectChecks', () => {
  let fx: Fixture | undefined;
  afterEach(() => fx?.cleanup());

  it('finds an npm test script and, with node_modules missing and a lockfile, npm ci before it', () => {
    fx = fixture({ 'package.json': packageJson('process.exit(0)'), 'package-lock.json': '{}' });
    const d = detectChecks(fx.repo);
    expect(d.checks.map((c) => [c.name, c.kind, c.needs])).toEqual([
      ['npm ci', 'build', undefined],
      ['npm test', 'test', 'npm ci'],
    ]);
    expect(d.checks[0]?.run).toEqual(['npm', 'ci', '--no-audit', '--no-fund']);
    expect(d.description).toContain('package-lock.json present → npm ci');
    expect(d.checks.every((c) => c.detected)).toBe(true);
  });

  it('uses npm install without a lockfile and no install step when node_modules exists', () => {
    fx = fixture({ 'package.json': packageJson('process.exit(0)') });
    expect(detectChecks(fx.repo).checks.map((c) => c.name)).toEqual(['npm install', 'npm test']);
    fx.write('node_modules/.keep', '');
    expect(detectChecks(fx.repo).checks.map((c) => c.name)).toEqual(['npm test']);
  });

  it("ignores npm init's placeholder test script and a package.json without one", () => {
    fx = fixture({
      'package.json': JSON.stringify({
        scripts: { test: 'echo "Error: no test specified" && exit 1' },
      }),
    });
    expect(detectChecks(fx.repo).checks).toEqual([]);
    fx.write('package.json', JSON.stringify({ scripts: { build: 'tsc' } }));
    expect(detectChecks(fx.repo).checks).toEqual([]);
  });

  it('finds Go, pytest and Cargo projects, and says so', () => {
    fx = fixture({ 'go.mod': 'module x\n', 'pytest.ini': '', 'Cargo.toml': '' });
    const d = detectChecks(fx.repo);
    expect(d.checks.map((c) => c.name)).toEqual([
      'go build ./...',
      'go test ./...',
      'pytest -q',
      'cargo test',
    ]);
    expect(d.checks.find((c) => c.name === 'pytest -q')?.okExitCodes).toEqual([0, 5]);
    expect(d.description).toBe(
      'detected go.mod (go build ./..., go test ./...); pytest.ini (pytest -q); Cargo.toml (cargo test)',
    );
  });

  it('detects nothing in a repository with none of the markers', () => {
    fx = fixture({ 'README.md': '# x\n' });
    const d = detectChecks(fx.repo);
    expect(d.checks).toEqual([]);
    expect(d.description).toMatch(/^nothing detected/);
  });
});
