// N `shell` dispatches that each commit a one-line change, delivered as a branch into the local
// source repository (`deliver.mode: branch`, QA off), at concurrency 8, enqueued from a
// long-lived client process; against a plain script doing the same clone, branch, spawn of the
// same task and `git fetch` of the branch back into the source, with the same parallelism. The
// two sides take turns in ten rounds. Needs `npm run build` (the client process loads dist/).
// Usage: npx tsx bench/deliver.ts [dispatches=200]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  agenticRunner,
  BENCH_ENV,
  each,
  inParallel,
  makeRepo,
  run,
  spawnShell,
  takeTurns,
  total,
  type Side,
} from './common.js';

const N = Number(process.argv[2] ?? 200);
const CONCURRENCY = 8;
/** Rounds in which the two sides take turns (see takeTurns). */
const ROUNDS = 10;
const base = mkdtempSync(join(tmpdir(), 'agentic-bench-deliver-'));

/** Task i: a one-line change to one of the source's files, committed on the current branch. */
const task = (i: number): string =>
  `echo "change ${i}" >> file-${i % 20}.txt && git commit -q -a -m "change ${i}"`;

/** The baseline: clone, branch, run the task, fetch the branch back into the source; no bookkeeping. */
function baseline(repo: string, from: number, to: number): Promise<number> {
  const dir = join(base, 'plain');
  return inParallel(from, to, CONCURRENCY, async (i) => {
    const ws = join(dir, `task-${i}`);
    const clone = join(ws, 'repo');
    const branch = `plain/task-${i}`;
    mkdirSync(ws, { recursive: true });
    await run('git', ['clone', '--local', '--quiet', '--', repo, clone], { env: BENCH_ENV });
    await run('git', ['checkout', '--quiet', '-b', branch], { cwd: clone, env: BENCH_ENV });
    await spawnShell(clone, task(i));
    await run(
      'git',
      [
        'fetch',
        '--quiet',
        '--no-tags',
        '--no-write-fetch-head',
        '--',
        clone,
        `${branch}:${branch}`,
      ],
      { cwd: repo, env: BENCH_ENV },
    );
  });
}

try {
  const repo = await makeRepo(base);
  const runner = await agenticRunner({
    base,
    agentsYaml: `concurrency:\n  shell: ${CONCURRENCY}\nqa: off\ndeliver:\n  mode: branch\n`,
    enqueue: `for (let i = arg.from; i < arg.to; i++)
      await enqueueDispatch(ctx, {
        repo: ${JSON.stringify(repo)},
        task: 'echo "change ' + i + '" >> file-' + (i % 20) + '.txt && git commit -q -a -m "change ' + i + '"',
        agent: 'shell',
        branch: 'agent/task-' + i,
      });`,
    check: (r) =>
      r.status !== 'completed'
        ? `${r.status}: ${r.question}`
        : r.delivered?.mode !== 'branch' || r.changes?.commits !== 1
          ? `not delivered as one commit: ${r.question ?? JSON.stringify(r.changes)}`
          : undefined,
  });
  const plain: Side = { turns: [], run: (from, to) => baseline(repo, from, to) };
  const ours: Side = { turns: [], run: (from, to) => runner.chunk(from, to) };
  try {
    await takeTurns(N, ROUNDS, plain, ours);
  } finally {
    await runner.close();
  }
  // Every branch of both sides must have arrived in the source.
  const branches = (await run('git', ['branch', '--list'], { cwd: repo })).stdout.split('\n');
  const count = (prefix: string) => branches.filter((b) => b.trim().startsWith(prefix)).length;
  if (count('agent/task-') !== N || count('plain/task-') !== N)
    throw new Error(
      `branches in the source: ${count('agent/task-')} agentic, ${count('plain/task-')} plain, expected ${N} each`,
    );
  console.log(
    `dispatches: ${N} at concurrency ${CONCURRENCY}, in ${ROUNDS} rounds, each committing one line`,
  );
  console.log(
    `plain clone+spawn+fetch script: ${total(plain.turns).toFixed(2)} s (${each(plain.turns)})`,
  );
  console.log(
    `agentic (enqueue → claim → prep → spawn → finish → harvest → branch delivery → journal): ${total(ours.turns).toFixed(2)} s (${each(ours.turns)})`,
  );
  console.log(
    `ratio agentic/plain: ${(total(ours.turns) / total(plain.turns)).toFixed(2)} (target <= 1.25)`,
  );
} finally {
  rmSync(base, { recursive: true, force: true });
}
