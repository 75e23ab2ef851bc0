// CPU and wall time of starting the CLI, against starting bare Node: `node -e 0`,
// `agentic --version` and `agentic status --json` on an empty CoreRoot (no agents.yaml, no store
// URL), in N interleaved rounds. The target is `status --json` ≤ 2× the CPU of `node -e 0`.
// It measures the steady state: one untimed warm-up per command fills the page cache and creates
// the SQLite file. Usage: npm run build && npx tsx bench/cli-start.ts [rounds=20]
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BENCH_ENV } from './common.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const TARGET = 2.0;
const CLI = join(process.cwd(), 'dist', 'cli', 'main.js');
const RECORD_LOADS = join(process.cwd(), 'test', 'fixtures', 'record-loads.mjs');
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const run = promisify(execFile);

const base = mkdtempSync(join(tmpdir(), 'agentic-bench-cli-start-'));
const home = join(base, 'home');
mkdirSync(home);
// No agents.yaml, no store URL, no hub: nothing from the caller's CORE_* settings.
const env: Record<string, string | undefined> = Object.fromEntries(
  Object.entries(BENCH_ENV).filter(([k]) => !k.startsWith('CORE_')),
);
Object.assign(env, { HOME: home, CORE_WORKSPACE: join(base, 'root') });

/** One command of the comparison and the check that its run did what it should. */
interface Case {
  label: string;
  args: string[];
  check: (stdout: string) => string | undefined;
}

const cases: Case[] = [
  { label: 'node -e 0', args: ['-e', '0'], check: () => undefined },
  {
    label: 'agentic --version',
    args: [CLI, '--version'],
    check: (out) => (out.trim() === VERSION ? undefined : `printed ${JSON.stringify(out)}`),
  },
  {
    label: 'agentic status --json',
    args: [CLI, 'status', '--json'],
    check: (out) => {
      try {
        const doc = JSON.parse(out) as { counts?: { total?: number } };
        return doc.counts?.total === 0 ? undefined : `counts.total is not 0: ${out}`;
      } catch {
        return `stdout is not JSON: ${out}`;
      }
    },
  },
];

/** Wall and CPU (user + sys of the child, threads included) of one run, in milliseconds. */
interface Sample {
  wall: number;
  cpu: number;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs one case under bash's `time` (rusage of the children) and checks exit code and output. */
async function measure(c: Case): Promise<Sample> {
  const line = [process.execPath, ...c.args].map(quote).join(' ');
  // The command's own stderr is dropped, so the last stderr line is `time`'s report.
  const script = `TIMEFORMAT="%3R %3U %3S"; { time ${line} 2>/dev/null; }`;
  const { stdout, stderr } = await run('bash', ['-c', script], { env, cwd: base });
  const wrong = c.check(stdout);
  if (wrong !== undefined) throw new Error(`${c.label}: ${wrong}`);
  const [wall, user, sys] = stderr.trim().split('\n').pop()!.split(' ').map(Number);
  if (wall === undefined || user === undefined || sys === undefined || Number.isNaN(sys))
    throw new Error(`${c.label}: cannot read the time report: ${stderr}`);
  return { wall: wall * 1000, cpu: (user + sys) * 1000 };
}

/** The modules a case loads (ES and CommonJS, no built-ins), counted per package. */
async function modules(c: Case): Promise<Map<string, number>> {
  const file = join(base, 'loads.txt');
  rmSync(file, { force: true });
  await run(process.execPath, ['--import', RECORD_LOADS, ...c.args], {
    env: { ...env, RECORD_LOADS_FILE: file },
    cwd: base,
  });
  let lines: string[] = [];
  try {
    lines = readFileSync(file, 'utf8').split('\n');
  } catch {
    // `node -e 0` loads nothing but the preload itself: no file.
  }
  const paths = new Set(
    lines
      .filter((l) => l.startsWith('file:') || l.startsWith('/'))
      .map((l) => (l.startsWith('file:') ? fileURLToPath(l) : l))
      .filter((p) => p !== RECORD_LOADS && !p.endsWith('record-loads-hook.mjs')),
  );
  const perPackage = new Map<string, number>();
  for (const p of paths) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p);
    const key = m?.[1] ?? (p.includes('/dist/') ? 'agentic (dist/)' : 'other');
    perPackage.set(key, (perPackage.get(key) ?? 0) + 1);
  }
  return perPackage;
}

const median = (xs: number[]): number => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  for (const c of cases) await measure(c); // warm-up, untimed
  const samples = new Map<Case, Sample[]>(cases.map((c) => [c, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order so that no command always runs right after the same other one.
    const order = cases.map((_, i) => cases[(i + r) % cases.length]!);
    for (const c of order) samples.get(c)!.push(await measure(c));
  }
  const loads = new Map<Case, Map<string, number>>();
  for (const c of cases) loads.set(c, await modules(c));

  console.log(`CLI start, ${ROUNDS} interleaved rounds, steady state (warm page cache), ms:`);
  console.log('command                  cpu med  cpu p90  wall med  wall p90  modules');
  for (const c of cases) {
    const s = samples.get(c)!;
    const cpu = s.map((x) => x.cpu);
    const wall = s.map((x) => x.wall);
    const count = [...loads.get(c)!.values()].reduce((a, b) => a + b, 0);
    console.log(
      `${c.label.padEnd(24)} ${median(cpu).toFixed(0).padStart(7)}  ${quantile(cpu, 0.9).toFixed(0).padStart(7)}` +
        `  ${median(wall).toFixed(0).padStart(8)}  ${quantile(wall, 0.9).toFixed(0).padStart(8)}  ${String(count).padStart(7)}`,
    );
  }
  const cpuOf = (i: number): number => median(samples.get(cases[i]!)!.map((x) => x.cpu));
  const ratio = (i: number): string => (cpuOf(i) / cpuOf(0)).toFixed(2);
  console.log(`status/node CPU:  ${ratio(2)} (target ≤ ${TARGET.toFixed(1)})`);
  console.log(`version/node CPU: ${ratio(1)} (target ≤ ${TARGET.toFixed(1)})`);
  for (const c of cases.slice(1)) {
    const top = [...loads.get(c)!]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([pkg, n]) => `${pkg} ${n}`);
    console.log(`modules of ${c.label}: ${top.join(', ')}`);
  }
}

try {
  await main();
} finally {
  rmSync(base, { recursive: true, force: true });
}
