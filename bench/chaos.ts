// Reliability under random runner kills (issue: restart safety). Needs `npm run build` first.
// Usage: npx tsx bench/chaos.ts [tasks=300] [concurrency=16] [min-kills=20]
import { runChaos } from '../test/helpers/chaos-run.js';

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
});
const v = report.violations;
console.log(
  `tasks ${report.tasks}, concurrency ${concurrency}, runner SIGKILLed ${report.kills} times over ${report.seconds.toFixed(0)} s`,
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
