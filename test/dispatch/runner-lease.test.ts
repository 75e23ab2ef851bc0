import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leasePath, readLease, RunnerLease } from '../../src/dispatch/runner-lease.js';
import { systemClock } from '../../src/lib/clock.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';

const run = promisify(execFile);
const contender = join(import.meta.dirname, '..', 'fixtures', 'lease-contender.mjs');
const ROUNDS = 100;

describe('runner lease taken over from a dead runner', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'agentic-lease-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('goes to exactly one of two processes that find the same stale lease at once', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      mkdirSync(join(base, String(i)));
      // This process is alive, but the start time is not its own: a runner that died and whose
      // pid was reused, which is stale however fresh its heartbeat.
      const stale = {
        pid: process.pid,
        pid_start: 'not-this-process',
        node: 'dead-node',
        heartbeat_at: new Date().toISOString(),
        token: 'dead-runner',
      };
      writeFileSync(join(base, String(i), 'runner.lock'), JSON.stringify(stale));
    }
    // Both processes start each round at the same wall-clock time (after Node's start-up).
    const start = String(Date.now() + 3_000);
    const args = [contender, base, String(ROUNDS), start, '20'];
    const outputs = await Promise.all([
      run(process.execPath, args, { timeout: 60_000 }),
      run(process.execPath, args, { timeout: 60_000 }),
    ]);
    const won = new Map<number, number>();
    for (const { stdout } of outputs)
      for (const line of stdout.trim().split('\n')) {
        const [round, got] = line.split(' ').map(Number);
        won.set(round ?? -1, (won.get(round ?? -1) ?? 0) + (got ?? 0));
      }
    expect(won.size).toBe(ROUNDS);
    const doubles = [...won].filter(([, n]) => n !== 1).map(([round, n]) => `${round}:${n}`);
    expect(doubles).toEqual([]);
  }, 90_000);
});

describe('breaking a stale lock', () => {
  let root: TempRoot;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => root.cleanup());

  it('is not stopped by the break marker of a breaker that was killed halfway', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const pid = Number(dead.stdout);
    const lease = {
      pid,
      pid_start: 'gone',
      node: 'n',
      heartbeat_at: new Date().toISOString(),
      token: 't',
    };
    writeFileSync(leasePath(root.coreRoot), JSON.stringify(lease));
    // The dead process had created the break marker and was killed before removing it.
    const marker = { pid, host: hostname(), token: `${hostname()}:${pid}` };
    writeFileSync(`${leasePath(root.coreRoot)}.break`, JSON.stringify(marker));
    const taken = RunnerLease.tryAcquire(root.coreRoot, systemClock, 'n2');
    expect(taken).toBeDefined();
    expect(readLease(root.coreRoot)?.pid).toBe(process.pid);
    taken?.release();
  });
});
