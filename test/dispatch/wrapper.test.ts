import { spawn, execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WRAPPER } from '../../src/dispatch/launch.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { waitUntil } from '../helpers/dispatch.js';

/** The wrapper a test started, killed after the test whatever happened. */
let started: number | undefined;

/** Whether the process has a handler installed for SIGTERM (its trap ran). */
function catchesTerm(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
  } catch {
    return false;
  }
}

/**
 * Starts the wrapper with `.meta/launch.json` as a FIFO: the wrapper's write to it blocks until
 * a reader opens it, which holds the wrapper after its traps and before the agent starts.
 */
async function heldWrapper(root: TempRoot) {
  const meta = join(root.coreRoot, '.meta');
  mkdirSync(meta, { recursive: true });
  execFileSync('mkfifo', [join(meta, 'launch.json')]);
  const marker = join(root.coreRoot, 'agent-ran');
  const child = spawn(
    '/bin/sh',
    ['-c', WRAPPER, 'agentic-wrap', meta, '1', '/dev/null', '', '/bin/sh', '-c', `: > ${marker}`],
    { detached: true, stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const pid = await new Promise<number>((r) => child.once('spawn', () => r(child.pid ?? -1)));
  started = pid;
  await waitUntil('the wrapper to install its traps', () => catchesTerm(pid));
  const release = () =>
    openSync(join(meta, 'launch.json'), constants.O_RDONLY | constants.O_NONBLOCK);
  const exitRecord = () =>
    JSON.parse(readFileSync(join(meta, 'exit.json'), 'utf8')) as {
      exit_code: number;
      signal: string | null;
    };
  return { pid, exited, marker, release, exitRecord };
}

describe('the launch wrapper', () => {
  let root: TempRoot;
  afterEach(() => {
    // A wrapper a failed test left blocked on its FIFO must not outlive the test.
    if (started !== undefined) {
      try {
        process.kill(-started, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    started = undefined;
    root.cleanup();
  });

  it('never starts the agent when the group was signalled before the agent existed', async () => {
    root = tempRoot('agentic-wrapper-');
    const w = await heldWrapper(root);
    process.kill(-w.pid, 'SIGTERM');
    // The reader stays open until the wrapper is gone, so its write cannot meet a closed pipe.
    const fd = w.release();
    try {
      expect(await w.exited).toBe(143);
    } finally {
      closeSync(fd);
    }
    expect(existsSync(w.marker)).toBe(false);
    expect(w.exitRecord()).toEqual({ exit_code: 143, signal: 'SIGTERM', run: 1 });
  });

  it('starts the agent once released when no signal came (the hold itself stops nothing)', async () => {
    root = tempRoot('agentic-wrapper-');
    const w = await heldWrapper(root);
    const fd = w.release();
    try {
      expect(await w.exited).toBe(0);
    } finally {
      closeSync(fd);
    }
    expect(existsSync(w.marker)).toBe(true);
    expect(w.exitRecord()).toEqual({ exit_code: 0, signal: null, run: 1 });
  });
});
