// Reliability under random runner kills (issue: restart safety). Needs `npm run build` first.
// Usage: npx tsx bench/chaos.ts [tasks=300] [concurrency=16] [min-kills=20]
// BENCH_STORE=postgres runs it on a throwaway PostgreSQL cluster (a fleet node's store).
import { runChaos } from '../test/helpers/chaos-run.js';
import { startPostgres } from '../test/helpers/postgres.js';

const STORE = process.env['BENCH_STORE'] ?? 'sqlite';
if (STORE !== 'sqlite' && STORE !== 'postgres')
  throw new Error(`BENCH_STORE must be sqlite or postgres, not ${STORE}`);
const cluster = STORE === 'postgres' ? await startPostgres() : undefined;

const tasks = Number(process.argv[2] ?? 300);
const concurrency = Number(process.argv[3] ?? 16);
const minKills = Number(process.argv[4] ?? 20);

const report = await runChaos({
  tasks,
  concurrency,
  minKills,
  killEveryMs: [1000, 4000],
  enqueueOverMs: minKills * 2500,
  deadlineMs: 15 * 60_000,
  log: (line) => process.stderr.write(`${line}\n`),
  ...(cluster ? { storeUrl: cluster.url } : {}),
}).finally(() => cluster?.stop());
const v = report.violations;
console.log(
  `store ${STORE}, tasks ${report.tasks}, concurrency ${concurrency}, runner SIGKILLed ${report.kills} times over ${report.seconds.toFixed(0)} s`,
);
console.log(`agents alive at a kill (summed over kills): ${report.aliveAtKills}`);
console.log(`not terminal: ${v.notTerminal.length}`);
console.log(`outcome differs from what the fixture recorded: ${v.wrongOutcome.length}`);
console.log(`ran twice or never: ${v.ranTwiceOrNever.length}`);
console.log(`journal not exactly one line per (workspace, runs): ${v.journal.length}`);
console.log(`live agents reaped as ghosts instead of re-attached: ${v.reaped.length}`);
console.log(`vanished from the queue: ${v.vanished}`);
const ok =
  Object.values(v).every((x) => (Array.isArray(x) ? x.length === 0 : x === 0)) &&
  report.kills >= minKills;
for (const [k, list] of Object.entries(v))
  if (Array.isArray(list) && list.length) console.log(`${k}: ${list.slice(0, 5).join('; ')}`);
console.log(ok ? 'every invariant held' : 'INVARIANT VIOLATED');
process.exitCode = ok ? 0 : 1;
