// The chaos experiment behind bench/chaos.ts and its shortened test: shell tasks that sleep and
// exit with known codes (some write BLOCKED.md) while the runner is SIGKILLed at random and
// restarted. Afterwards every invariant of the restart contract is checked.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigSync } from '../../src/config/load-sync.js';
import { createAppContext } from '../../src/compose.js';
import { GHOST_QUESTION } from '../../src/dispatch/finish.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { readAllRecords } from '../../src/lifecycle/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { isProcessAlive } from '../../src/lib/proc.js';
import type { StatusRecord } from '../../src/workspace/index.js';

/** Knobs of one chaos run. */
export interface ChaosOptions {
  tasks: number;
  concurrency: number;
  /** Kill the runner at least this many times. */
  minKills: number;
  /** Random gap between kills, in ms. */
  killEveryMs: [number, number];
  /** Spread the enqueues over this long, so work keeps arriving while the runner dies. */
  enqueueOverMs: number;
  /** Give up after this long. */
  deadlineMs: number;
  /**
   * Stop killing once `minKills` is reached and every task is enqueued, and let the last runner
   * finish (default false: keep killing to the end). On a loaded machine a restarted runner may
   * barely get going before the next kill, so the test sets this to stay within its deadline.
   */
  stopAfterMinKills?: boolean;
  /** Before each kill, wait up to this long for an agent to be alive, so every kill catches one (default 10 s). */
  waitForAgentMs?: number;
  log?: (line: string) => void;
  /** CORE_AGENT_STORE_URL for the daemons and the checks (PostgreSQL, as fleet node `chaos`); default the embedded SQLite. */
  storeUrl?: string;
}

/** What the run found. Every `violations` list must be empty. */
export interface ChaosReport {
  tasks: number;
  kills: number;
  aliveAtKills: number;
  /** Daemons that exited before they were killed (e.g. refused because the lease looked held). */
  selfExits: number;
  seconds: number;
  violations: {
    notTerminal: string[];
    wrongOutcome: string[];
    ranTwiceOrNever: string[];
    journal: string[];
    reaped: string[];
    vanished: number;
  };
}

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
const GIT = {
  GIT_AUTHOR_NAME: 'c',
  GIT_AUTHOR_EMAIL: 'c@c',
  GIT_COMMITTER_NAME: 'c',
  GIT_COMMITTER_EMAIL: 'c@c',
};

interface Plan {
  branch: string;
  sleep: number;
  code: number;
  blocked: boolean;
}

function plan(i: number): Plan {
  const codes = [0, 0, 3, 0, 1, 0, 0, 2, 0, 0];
  return {
    branch: `t-${i}`,
    sleep: 0.2 + ((i * 7919) % 1800) / 1000,
    code: codes[i % 10] ?? 0,
    blocked: i % 7 === 3,
  };
}

function expectedStatus(p: Plan): string {
  if (p.blocked) return 'blocked';
  return p.code === 0 ? 'completed' : 'failed';
}

/** Runs the experiment in a fresh temp CoreRoot and removes it afterwards. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const base = mkdtempSync(join(tmpdir(), 'agentic-chaos-'));
  const root = join(base, 'core');
  const truth = join(base, 'truth');
  mkdirSync(root, { recursive: true });
  mkdirSync(truth, { recursive: true });
  // Failing fast is what these tasks are for, so the fast-failure pause (which would rightly
  // stop the pool after three in a row) is turned off.
  writeFileSync(
    join(root, 'agents.yaml'),
    `dispatch:\n  failure_backoff:\n    count: 0\nconcurrency:\n  shell: ${options.concurrency}\n`,
  );
  const repo = join(base, 'repo');
  mkdirSync(repo);
  writeFileSync(join(repo, 'README.md'), 'chaos\n');
  const env = {
    ...process.env,
    ...GIT,
    CORE_WORKSPACE: root,
    ...(options.storeUrl
      ? { CORE_AGENT_STORE_URL: options.storeUrl, CORE_AGENT_FLEET_NODE_ID: 'chaos' }
      : {}),
  };
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '.'],
    ['commit', '-q', '-m', 'init'],
  ]) {
    await new Promise<void>((resolve, reject) =>
      spawn('git', args, { cwd: repo, env, stdio: 'ignore' }).on('exit', (c) =>
        c === 0 ? resolve() : reject(new Error(`git ${args[0]}`)),
      ),
    );
  }
  const ctx = createAppContext({ config: loadConfigSync({}, env), logger: silentLogger() });
  const started = Date.now();
  let daemon: ChildProcess | undefined;
  let kills = 0;
  let aliveAtKills = 0;
  let selfExits = 0;
  const startDaemon = (): ChildProcess => {
    const child = spawn(process.execPath, [CLI, 'daemon', '--log-level', 'warn'], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return child;
  };
  const running = async (): Promise<StatusRecord[]> =>
    [...(await readAllRecords(ctx)).values()].filter((r) => r.status === 'running');
  const allDone = async (): Promise<boolean> => {
    const records = [...(await readAllRecords(ctx)).values()];
    return (
      records.length === options.tasks &&
      // Settled, not just terminal: a completed run's closeout writes its journal line, and a
      // daemon stopped before that leaves it to the next start, which the check never runs.
      records.every(
        (r) => r.status !== 'queued' && r.status !== 'running' && r.closeout !== 'pending',
      )
    );
  };

  try {
    daemon = startDaemon();
    let enqueued = 0;
    const enqueueGap = options.enqueueOverMs / options.tasks;
    const enqueuer = (async () => {
      for (let i = 0; i < options.tasks; i++) {
        const p = plan(i);
        const script = [
          `sleep ${p.sleep.toFixed(3)}`,
          p.blocked ? `printf 'question from task ${i}' > BLOCKED.md` : ':',
          `echo "$AGENTIC_RUN ${p.code}" >> ${join(truth, `${i}.log`)}`,
          `exit ${p.code}`,
        ].join('; ');
        await enqueueDispatch(ctx, { repo, task: script, agent: 'shell', branch: p.branch });
        enqueued++;
        await new Promise((r) => setTimeout(r, enqueueGap));
      }
    })();

    while (Date.now() - started < options.deadlineMs) {
      const [lo, hi] = options.killEveryMs;
      await new Promise((r) => setTimeout(r, lo + Math.random() * (hi - lo)));
      if (kills >= options.minKills && enqueued === options.tasks) {
        if (options.stopAfterMinKills || (await allDone())) break;
      }
      const alive = async (): Promise<number> =>
        (await running()).filter((r) => r.pid !== undefined && isProcessAlive(r.pid, r.pid_start))
          .length;
      const waitUntil = Date.now() + (options.waitForAgentMs ?? 10_000);
      let aliveNow = await alive();
      while (aliveNow === 0 && Date.now() < waitUntil && !(await allDone())) {
        await new Promise((r) => setTimeout(r, 100));
        aliveNow = await alive();
      }
      aliveAtKills += aliveNow;
      const victim = daemon;
      // A daemon may have exited by itself (it refuses to start while another runner holds the
      // lease): its 'exit' has been emitted already and would never come again.
      if (victim.exitCode !== null || victim.signalCode !== null) {
        log(`daemon had exited by itself (${victim.exitCode ?? victim.signalCode})`);
        selfExits++;
      } else {
        const exited = new Promise((r) => victim.once('exit', r));
        victim.kill('SIGKILL');
        await exited;
      }
      kills++;
      log(`kill ${kills} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
      daemon = startDaemon();
    }
    await enqueuer;
    while (Date.now() - started < options.deadlineMs && !(await allDone()))
      await new Promise((r) => setTimeout(r, 200));
    const stopping = daemon;
    if (stopping.exitCode === null && stopping.signalCode === null) {
      const stopped = new Promise((r) => stopping.once('exit', r));
      stopping.kill('SIGTERM');
      await stopped;
    }
    daemon = undefined;

    const records = await readAllRecords(ctx);
    const v: ChaosReport['violations'] = {
      notTerminal: [],
      wrongOutcome: [],
      ranTwiceOrNever: [],
      journal: [],
      reaped: [],
      vanished: 0,
    };
    v.vanished = options.tasks - records.size;
    for (let i = 0; i < options.tasks; i++) {
      const p = plan(i);
      const name = `core/repo/${p.branch}`;
      const r = records.get(name);
      if (!r || r.status === 'queued' || r.status === 'running') {
        v.notTerminal.push(`${name}: ${r?.status ?? 'missing'}`);
        continue;
      }
      if (r.question === GHOST_QUESTION) v.reaped.push(name);
      if (r.status !== expectedStatus(p) || (!p.blocked && r.exit_code !== p.code)) {
        v.wrongOutcome.push(
          `${name}: ${r.status}/${r.exit_code ?? '-'} expected ${expectedStatus(p)}/${p.code}${r.question ? ` (${r.question})` : ''}`,
        );
      }
      const ran = existsSync(join(truth, `${i}.log`))
        ? readFileSync(join(truth, `${i}.log`), 'utf8')
            .trim()
            .split('\n')
        : [];
      if (ran.length !== 1 || ran[0] !== `1 ${p.code}`)
        v.ranTwiceOrNever.push(`${name}: ${JSON.stringify(ran)}`);
      const journalPath = join(root, 'workspace', name, '.meta', 'journal.jsonl');
      const lines = existsSync(journalPath)
        ? readFileSync(journalPath, 'utf8').trim().split('\n').filter(Boolean)
        : [];
      const perRun = new Map<number, number>();
      for (const line of lines) {
        const runs = (JSON.parse(line) as { runs: number }).runs;
        perRun.set(runs, (perRun.get(runs) ?? 0) + 1);
      }
      if (perRun.size !== 1 || perRun.get(r.runs) !== 1)
        v.journal.push(`${name}: ${JSON.stringify([...perRun])}`);
    }
    return {
      tasks: options.tasks,
      kills,
      aliveAtKills,
      selfExits,
      seconds: (Date.now() - started) / 1000,
      violations: v,
    };
  } finally {
    daemon?.kill('SIGKILL');
    await ctx.close();
    rmSync(base, { recursive: true, force: true });
  }
}
