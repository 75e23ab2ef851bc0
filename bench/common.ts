// Helpers shared by the benchmarks that pit agentic's runner against a plain script: the source
// repository, a long-lived client process that enqueues, a runner timed per chunk, and the
// turns the two sides take. The benchmarks that use them need `npm run build` (the client
// process loads dist/).
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfigSync } from '../src/config/load-sync.js';
import { createAppContext } from '../src/compose.js';
import { Runner } from '../src/dispatch/runner.js';
import { readAllRecords } from '../src/lifecycle/index.js';
import { silentLogger } from '../src/lib/logger.js';
import type { StatusRecord } from '../src/workspace/index.js';

/** execFile as a promise. */
export const run = promisify(execFile);

/** The environment of every git and client process in the benchmarks: a fixed identity. */
export const BENCH_ENV: Record<string, string | undefined> = {
  ...process.env,
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
};

/** Makes a small source repository (20 files, one commit on `main`) at `<base>/src-repo`. */
export async function makeRepo(base: string): Promise<string> {
  const repo = join(base, 'src-repo');
  mkdirSync(repo, { recursive: true });
  for (let i = 0; i < 20; i++)
    writeFileSync(join(repo, `file-${i}.txt`), `content ${i}\n`.repeat(50));
  await run('git', ['init', '-q', '-b', 'main'], { cwd: repo, env: BENCH_ENV });
  await run('git', ['add', '.'], { cwd: repo, env: BENCH_ENV });
  await run('git', ['commit', '-q', '-m', 'init'], { cwd: repo, env: BENCH_ENV });
  return repo;
}

/** Runs `/bin/sh -c command` in `cwd` in its own process group, as the plain scripts' agent. */
export function spawnShell(cwd: string, command: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd,
      env: BENCH_ENV,
      stdio: 'ignore',
      detached: true,
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`)),
    );
  });
}

/** Runs `task(i)` for every i in [from, to), `concurrency` at a time; returns the seconds taken. */
export async function inParallel(
  from: number,
  to: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<number> {
  let next = from;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < to; i = next++) await task(i);
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - start) / 1000;
}

/** A client process with a store context, like a long-lived `agentic mcp` server. */
export interface Client {
  /** Runs the client's body with `arg` bound; resolves when it is done. */
  run(arg: unknown): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a client process, the way `agentic dispatch` or the MCP server reaches a runner in real
 * use, with the built dist/ modules in scope; resolves once it is ready. `body` is ES module
 * source run for each {@link Client.run}, with `arg` bound; `file` is written under `base`;
 * `env` is added to the client's environment.
 */
export async function startClient(
  base: string,
  root: string,
  file: string,
  body: string,
  env: Record<string, string> = {},
): Promise<Client> {
  const dist = (m: string): string => join(process.cwd(), 'dist', m);
  const script = `
    import { loadConfig } from '${dist('config/index.js')}';
    import { createAppContext } from '${dist('compose.js')}';
    import { enqueueDispatch } from '${dist('dispatch/enqueue.js')}';
    import { readRecord } from '${dist('lifecycle/index.js')}';
    import { silentLogger } from '${dist('lib/logger.js')}';
    const ctx = createAppContext({ config: await loadConfig(), logger: silentLogger() });
    process.on('message', async (arg) => {
      ${body}
      process.send('done');
    });
    process.on('disconnect', () => void ctx.close());
    process.send('done');`;
  writeFileSync(join(base, file), script);
  const child = spawn(process.execPath, [join(base, file)], {
    env: { ...BENCH_ENV, CORE_WORKSPACE: root, ...env },
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  let waiting: { resolve: () => void; reject: (e: Error) => void } | undefined;
  const next = (): Promise<void> =>
    new Promise((resolve, reject) => (waiting = { resolve, reject }));
  child.on('message', () => waiting?.resolve());
  child.on('exit', (code) => waiting?.reject(new Error(`client exited ${code}`)));
  await next();
  return {
    run(arg) {
      const done = next();
      child.send(arg as object);
      return done;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}

/** What {@link agenticRunner} runs. */
export interface AgenticSetup {
  base: string;
  /** The agents.yaml of the runner's CoreRoot (`<base>/agentic`). */
  agentsYaml: string;
  /** ES module source enqueueing the tasks arg.from .. arg.to - 1 (see {@link startClient}). */
  enqueue: string;
  /** Says what is wrong with a finished record; undefined when it is what the bench expects. */
  check: (record: StatusRecord) => string | undefined;
}

/** A runner timed per chunk of work; see {@link agenticRunner}. */
export interface AgenticRunner {
  /** Enqueues tasks [from, to) from the client; resolves with the seconds until all finished. */
  chunk(from: number, to: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * A runner (in this process) that dispatches chunks of the tasks on demand: each chunk is
 * enqueued by one long-lived client process and timed from the client's request until the
 * chunk's last run is announced `finished` (its status committed and journaled). The start of
 * the runner and of the client are timed too and counted with the first chunk.
 */
export async function agenticRunner(setup: AgenticSetup): Promise<AgenticRunner> {
  const root = join(setup.base, 'agentic');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'agents.yaml'), setup.agentsYaml);
  const ctx = createAppContext({
    config: loadConfigSync({}, { ...BENCH_ENV, CORE_WORKSPACE: root }),
    logger: silentLogger(),
  });
  let done = 0;
  let target = 0;
  let failure: string | undefined;
  let chunkDone: () => void = () => undefined;
  ctx.events.on('finished', (name: string, record: StatusRecord) => {
    const wrong = setup.check(record);
    if (wrong !== undefined) failure ??= `${name}: ${wrong}`;
    if (++done === target || failure !== undefined) chunkDone();
  });
  const started = performance.now();
  const runner = await Runner.start(ctx, { pollMs: 60_000 });
  if (!runner) throw new Error('no lease');
  let startup = (performance.now() - started) / 1000;
  let client: Client | undefined;
  return {
    async chunk(from, to) {
      target = done + (to - from);
      const finished = new Promise<void>((resolve) => (chunkDone = resolve));
      const start = performance.now();
      client ??= await startClient(setup.base, root, 'enqueue.mjs', setup.enqueue);
      await client.run({ from, to });
      // A run that stops making progress says what is stuck instead of hanging or exiting quietly.
      let seen = -1;
      const watchdog = setInterval(() => {
        if (done !== seen) {
          seen = done;
          return;
        }
        void readAllRecords(ctx).then((records) => {
          const counts: Record<string, number> = {};
          for (const r of records.values()) counts[r.status] = (counts[r.status] ?? 0) + 1;
          failure ??= `no progress for 30 s after ${done} finished: ${JSON.stringify(counts)}`;
          chunkDone();
        });
      }, 30_000);
      await finished;
      clearInterval(watchdog);
      if (failure !== undefined) throw new Error(`a dispatch did not end as expected: ${failure}`);
      const seconds = (performance.now() - start) / 1000 + startup;
      startup = 0;
      return seconds;
    },
    async close() {
      await client?.close();
      await runner.close();
      await ctx.close();
    },
  };
}

/** One side of a comparison: how it runs tasks [from, to), and the seconds of each turn. */
export interface Side {
  run: (from: number, to: number) => Promise<number>;
  turns: number[];
}

/**
 * Runs tasks 0 .. n-1 on both sides in `rounds` rounds, the sides taking turns (`first` first in
 * even rounds, `second` first in odd ones), each turn after an untimed `sync`. The machine's
 * speed drifts, at times by 2x within a minute: taking turns lets a slow spell hit both sides,
 * and the flush keeps either side from paying for writing back the other's files.
 */
export async function takeTurns(n: number, rounds: number, first: Side, second: Side) {
  const size = Math.ceil(n / rounds);
  for (let r = 0, from = 0; from < n; r++, from += size) {
    const to = Math.min(n, from + size);
    for (const side of r % 2 === 0 ? [first, second] : [second, first]) {
      await run('sync', []);
      side.turns.push(await side.run(from, to));
    }
  }
}

/** The sum of a side's turns. */
export const total = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** A side's turns, as `1.2 + 3.4 + …` seconds. */
export const each = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(' + ');
