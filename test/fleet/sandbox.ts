import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { launchedChild, waitUntil } from '../helpers/dispatch.js';

/**
 * A test node's own PID and mount namespaces, as on a separate host: its daemon, its CLI calls
 * and its agents see only their own processes (pids count from 1 in every node, so two nodes'
 * pids collide as on two machines) and not the other nodes' CoreRoots. The namespace's init is a
 * small reaper, so agents that outlive their daemon are reaped when they exit, never left as
 * zombies that look alive; it ends, taking the node with it, when the test process is gone.
 */
export interface Sandbox {
  /** Host pid of the namespace's init. */
  init: number;
  /** The command words that run a program inside the namespaces. */
  prefix: string[];
  /** The host pid of the process the node knows as `nsPid`, if it is alive. */
  hostPid(nsPid: number): number | undefined;
  /** The pid a host process has inside the node. */
  nsPid(hostPid: number): number;
  /** Hides `path` from the node (an empty tmpfs mounted over it inside the namespace). */
  hide(path: string): void;
  /** SIGKILLs the init, which takes every process of the node with it, and waits for them to go. */
  destroy(): Promise<void>;
}

const REAPER = [
  'import os, select',
  'while True:',
  // The test process holds our stdin: when it is gone, so is the node.
  '    ready, _, _ = select.select([0], [], [], 0.1)',
  '    if ready and not os.read(0, 1):',
  '        os._exit(0)',
  '    try:',
  '        while os.waitpid(-1, os.WNOHANG)[0] > 0:',
  '            pass',
  '    except ChildProcessError:',
  '        pass',
].join('\n');

/** The system python, not a version manager's shim (a shell script would be the init). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function which(cmd: string): string | undefined {
  const res = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

/**
 * Whether this machine lets the tests give each node its own namespaces, and if not, why: they
 * need root and util-linux's `unshare`/`nsenter` (and python3 for the reaper).
 */
export const ISOLATION: { ok: true } | { ok: false; why: string } = (() => {
  if (process.platform !== 'linux') return { ok: false, why: 'not Linux' };
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root' };
  for (const cmd of ['unshare', 'nsenter', PYTHON])
    if (!which(cmd)) return { ok: false, why: `no ${cmd}` };
  const trial = spawnSync('unshare', ['--pid', '--fork', '--mount', '--mount-proc', 'true'], {
    encoding: 'utf8',
  });
  if (trial.status !== 0) return { ok: false, why: `unshare failed: ${trial.stderr.trim()}` };
  return { ok: true };
})();

/** How the fleet tests' nodes are isolated, for test titles. */
export const ISOLATION_LABEL = ISOLATION.ok
  ? 'nodes in their own PID and mount namespaces'
  : `nodes as plain processes (no namespaces: ${ISOLATION.why})`;

/** A CI machine runs as root: there the namespaces are a collaborator the tests require. */
if (!ISOLATION.ok && process.env['CI'] === 'true' && process.getuid?.() === 0)
  throw new Error(`fleet tests need PID and mount namespaces under CI: ${ISOLATION.why}`);

function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** NSpid of a host process: its pid in each namespace, outermost first. */
function nsPids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('NSpid:'));
  return (line ?? '').split(/\s+/).slice(1).filter(Boolean).map(Number);
}

/** Starts a node's namespaces. */
export async function createSandbox(): Promise<Sandbox> {
  const unshare = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount',
      '--mount-proc',
      '--propagation',
      'private',
      PYTHON,
      '-c',
      REAPER,
    ],
    { detached: true, stdio: ['pipe', 'ignore', 'ignore'] },
  );
  unshare.unref();
  (unshare.stdin as unknown as { unref(): void }).unref();
  const init = await launchedChild(unshare.pid!);
  // The reaper runs once the child has mounted its own /proc and exec'd.
  await waitUntil('the namespace init to run', () => {
    try {
      return readFileSync(`/proc/${init}/cmdline`, 'utf8').includes('waitpid');
    } catch {
      return false;
    }
  });
  const ns = pidNamespace(init);
  const nsenter = ['nsenter', '-t', String(init), '-p', '-m', '--'];
  const members = (): number[] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => pidNamespace(p) === ns);
  return {
    init,
    prefix: nsenter,
    hostPid(nsPid) {
      return members().find((p) => {
        try {
          return nsPids(p).at(-1) === nsPid;
        } catch {
          return false;
        }
      });
    },
    nsPid: (hostPid) => nsPids(hostPid).at(-1)!,
    hide(path) {
      if (!existsSync(path)) return;
      execFileSync('nsenter', [
        '-t',
        String(init),
        '-m',
        '--',
        'mount',
        '-t',
        'tmpfs',
        '-o',
        'size=1m',
        'hidden',
        path,
      ]);
    },
    async destroy() {
      try {
        process.kill(init, 'SIGKILL');
      } catch {
        // already gone
      }
      // Also what keeps the pipe, and so the node, alive until now.
      unshare.stdin?.destroy();
      await waitUntil(
        'the node namespace to empty',
        () => !existsSync(`/proc/${init}`) && members().length === 0,
        30_000,
      );
    },
  };
}
