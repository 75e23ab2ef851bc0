import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';

const run = promisify(execFile);
const RECORD_LOADS = join(import.meta.dirname, '..', 'fixtures', 'record-loads.mjs');

/** Packages only some verbs need: loading one at start makes every command pay for it. */
const HEAVY = [
  '@modelcontextprotocol',
  'hono',
  '@hono',
  'pg',
  '@octokit',
  '@gitbeaker',
  'cli-table3',
];

/** What a run of the built CLI loaded: the packages under node_modules, and our own files. */
async function loaded(
  root: TempRoot,
  args: string[],
): Promise<{ packages: Set<string>; ours: Set<string> }> {
  const file = join(root.coreRoot, 'loads.txt');
  const { stdout } = await run(process.execPath, ['--import', RECORD_LOADS, CLI, ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...root.env, RECORD_LOADS_FILE: file },
    timeout: 60_000,
  });
  const packages = new Set<string>();
  const ours = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(line);
    if (m?.[1] !== undefined) packages.add(m[1]);
    else if (line.includes('/dist/')) ours.add(line.slice(line.indexOf('/dist/') + 6));
  }
  // The recording worked only if it saw what the command certainly loads.
  expect(packages.has('commander'), stdout).toBe(true);
  expect(ours.has('cli/main.js'), stdout).toBe(true);
  return { packages, ours };
}

/** The packages under node_modules that a run of the built CLI loaded. */
async function packagesLoaded(root: TempRoot, args: string[]): Promise<Set<string>> {
  return (await loaded(root, args)).packages;
}

/** The heavy packages (or their scopes) among `packages`. */
const heavyAmong = (packages: Set<string>): string[] =>
  [...packages].filter((p) => HEAVY.some((h) => p === h || p.startsWith(`${h}/`)));

describe('what starting the CLI loads', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot('agentic-start-');
  });
  afterEach(() => root.cleanup());

  it('--version loads none of the packages that only some verbs need', async () => {
    expect(heavyAmong(await packagesLoaded(root, ['--version']))).toEqual([]);
  }, 60_000);

  it('status --json on an empty root loads none of them either', async () => {
    const { packages, ours } = await loaded(root, ['status', '--json']);
    // Loading modules is half of what status costs over bare node (bench/cli-start.ts, target
    // 2x): a change that adds files to this path should do so on purpose (36 at the time of
    // writing; docs/PERFORMANCE.md says where the time goes).
    expect(ours.size, [...ours].sort().join(' ')).toBeLessThanOrEqual(40);
    expect(packages.has('better-sqlite3')).toBe(true);
    expect(heavyAmong(packages)).toEqual([]);
    // Nothing to validate on an empty root: building zod's schemas was most of its start-up.
    expect(packages.has('zod')).toBe(false);
  }, 60_000);

  it('status loads zod once there is an agents.yaml to validate', async () => {
    writeFileSync(join(root.coreRoot, 'agents.yaml'), 'dispatch:\n  default_agent: shell\n');
    expect((await packagesLoaded(root, ['status', '--json'])).has('zod')).toBe(true);
  }, 60_000);
});
