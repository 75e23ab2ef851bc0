// Sync soak: 10,000 dispatch records committed in waves while a fault-injecting proxy on 127.0.0.1
// in front of the real hub answers 30 % of requests 503, lets 10 % time out, resets 5 % after the
// hub got them, and is down (connection refused) for one 60 s stretch. Prints records lost,
// duplicates stored on the hub, and the time to drain after the outage.
// Usage: npx tsx bench/sync-soak.ts [records=10000] [outage-seconds=60] [batch-size=100]
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigSync } from '../src/config/load-sync.js';
import { createAppContext } from '../src/compose.js';
import { openHubStorage } from '../src/hub/index.js';
import { silentLogger } from '../src/lib/logger.js';
import { GROUPS } from '../src/store/index.js';
import { backoffDelay, createSyncService, SendLoop } from '../src/sync/index.js';
import { startHubChild } from './hub-child.js';

const N = Number(process.argv[2] ?? 10_000);
const OUTAGE_MS = Number(process.argv[3] ?? 60) * 1000;
const BATCH = Number(process.argv[4] ?? 100);
/** `--verbose` (5th argument) prints every drain pass. */
const VERBOSE = process.argv[5] === '--verbose';
const WAVES = 20;
const WAVE_EVERY_MS = 1_500;
const OUTAGE_AT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 2_000;
const DEADLINE_MS = 40 * 60_000;
const dir = mkdtempSync(join(tmpdir(), 'agentic-soak-'));
const started = Date.now();
const since = () => ((Date.now() - started) / 1000).toFixed(1).padStart(6);

/** The fault-injecting proxy: faults are drawn per request; `down()` refuses connections. */
class FaultProxy {
  port = 0;
  readonly counts = { requests: 0, ok: 0, e503: 0, timeout: 0, reset: 0, refusedWindowMs: 0 };
  /** Records the hub reported as already stored (re-deliveries absorbed by its idempotency). */
  hubDuplicates = 0;
  /** Requests forwarded with an Idempotency-Key the hub had already seen (the hub replays them). */
  replays = 0;
  /** When each 2xx answer was relayed to the client. */
  readonly okAt: number[] = [];
  private readonly forwardedKeys = new Set<string>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: URL) {}

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.counts.requests += 1;
        const r = Math.random();
        if (r < 0.3) {
          this.counts.e503 += 1;
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end('{"error":"injected"}');
          return;
        }
        const kind = r < 0.4 ? 'timeout' : r < 0.45 ? 'reset' : 'ok';
        // Timeouts and resets still reach the hub half of the time / always: the response is lost.
        if (kind === 'timeout' && Math.random() < 0.5) {
          this.counts.timeout += 1;
          return; // never answer, never forward
        }
        this.forward(req, Buffer.concat(chunks), (status, headers, body) => {
          if (kind === 'timeout') {
            this.counts.timeout += 1;
            return; // forwarded, answer swallowed
          }
          if (kind === 'reset') {
            this.counts.reset += 1;
            req.socket.destroy();
            return;
          }
          this.counts.ok += 1;
          if (status >= 200 && status < 300) this.okAt.push(Date.now());
          res.writeHead(status, headers);
          res.end(body);
        });
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    const address = server.address();
    if (typeof address === 'object' && address) this.port = address.port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
    done: (status: number, headers: Record<string, string>, body: Buffer) => void,
  ): void {
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string') {
      if (this.forwardedKeys.has(key)) this.replays += 1;
      this.forwardedKeys.add(key);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
    headers['content-length'] = String(body.length);
    const upstream = request(
      new URL(req.url ?? '/', this.target),
      { method: req.method, headers },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts);
          try {
            const parsed = JSON.parse(text.toString()) as { duplicates?: number };
            if (typeof parsed.duplicates === 'number') this.hubDuplicates += parsed.duplicates;
          } catch {
            // not JSON: nothing to count
          }
          done(res.statusCode ?? 502, { 'content-type': 'application/json' }, text);
        });
      },
    );
    upstream.on('error', () => done(502, {}, Buffer.from('{"error":"upstream"}')));
    upstream.end(body);
  }
}

function record(i: number): Record<string, unknown> {
  const name = `core/soak-${i % 53}/task-${i}`;
  return {
    workspace: name,
    repo: `soak-${i % 53}`,
    org: 'core',
    task: `soak task ${i}`,
    agent: 'codex',
    branch: `agent/task-${i}`,
    status: 'completed',
    runs: 1,
    started_at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    updated_at: new Date(Date.UTC(2026, 0, 1, 0, 5) + i * 1000).toISOString(),
    committed_at: new Date(Date.UTC(2026, 0, 1, 0, 5, 1) + i * 1000).toISOString(),
    id: name,
    synced: false,
  };
}

const hubDb = join(dir, 'hub.sqlite');
const hub = await startHubChild(hubDb, ['soak']);
const proxy = new FaultProxy(new URL(hub.url));
await proxy.up();
mkdirSync(join(dir, 'node'), { recursive: true });
// Smaller batches than the default 500: more requests, so more of them meet a fault.
writeFileSync(join(dir, 'node', 'agents.yaml'), `sync:\n  batch_size: ${BATCH}\n`);
const ctx = createAppContext({
  config: loadConfigSync(
    {},
    {
      CORE_WORKSPACE: join(dir, 'node'),
      CORE_API_URL: `http://127.0.0.1:${proxy.port}`,
      CORE_AGENT_API_KEY: hub.tokens['soak'] ?? '',
      AGENT_NAME: 'soak',
    },
  ),
  logger: silentLogger(),
});
const store = await ctx.store();
const sync = await createSyncService(ctx, { requestTimeoutMs: REQUEST_TIMEOUT_MS });

let seeded = 0;
let recoveredAt: number | undefined;
let backoffAtRecoveryMs: number | undefined;
let drainedAt: number | undefined;
/** The highest back-off step (failed waves in a row) taken after recovery, and the last streak seen. */
let worstStreakAfter = 0;
let lastStreak = 0;
let resolveDrained: () => void = () => undefined;
const sent = new Promise<void>((resolve) => (resolveDrained = resolve));

const unsyncedCount = async (): Promise<number> =>
  (await store.entries(GROUPS.dispatchHistory)).filter(
    ([, v]) => (v as { synced?: boolean }).synced !== true,
  ).length;

const readMarks = async () =>
  (await store.get(GROUPS.syncState, 'status')) as
    { failure_streak?: number; hold_until?: string } | undefined;

const loop = new SendLoop(sync, {
  onPass(result) {
    if (recoveredAt !== undefined && drainedAt === undefined)
      void readMarks().then((m) => {
        const streak = m?.failure_streak ?? 0;
        if (streak > lastStreak) worstStreakAfter = Math.max(worstStreakAfter, streak);
        lastStreak = streak;
      });
    if (VERBOSE)
      console.log(
        `${since()}s pass: sent ${result.sent}, remaining ${result.remaining}, next ${result.nextAttemptAt ?? '-'}${result.lastError ? `, last error ${result.lastError.slice(0, 40)}` : ''}`,
      );
    // Drained = every committed record is marked synced (a pass may end before a wave was collected).
    if (
      seeded === N &&
      recoveredAt !== undefined &&
      result.remaining === 0 &&
      drainedAt === undefined
    ) {
      const at = Date.now();
      void unsyncedCount().then((n) => {
        if (n === 0 && drainedAt === undefined) {
          drainedAt = at;
          resolveDrained();
        }
      });
    }
  },
});
loop.start();

const perWave = Math.ceil(N / WAVES);
const seeding = (async () => {
  for (let w = 0; w < WAVES && seeded < N; w++) {
    const upTo = Math.min(N, seeded + perWave);
    await store.transaction(async (tx) => {
      for (let i = seeded; i < upTo; i++)
        await tx.set(GROUPS.dispatchHistory, `core/soak-${i % 53}/task-${i}`, record(i));
    });
    seeded = upTo;
    loop.wake();
    await new Promise((r) => setTimeout(r, WAVE_EVERY_MS));
  }
})();

const outage = (async () => {
  await new Promise((r) => setTimeout(r, OUTAGE_AT_MS));
  console.log(`${since()}s outage starts (${OUTAGE_MS / 1000} s, connection refused)`);
  await proxy.down();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  await proxy.up();
  recoveredAt = Date.now();
  const marks = await readMarks();
  const streak = marks?.failure_streak ?? 0;
  lastStreak = streak;
  backoffAtRecoveryMs = backoffDelay(streak, () => 0.5);
  const holdLeft = marks?.hold_until ? Date.parse(marks.hold_until) - Date.now() : 0;
  console.log(
    `${since()}s hub reachable again; ${streak} failed waves so far, back-off step ${backoffAtRecoveryMs / 1000} s, ` +
      `hold ends in ${Math.max(0, holdLeft / 1000).toFixed(1)} s`,
  );
  loop.wake();
})();

const deadline = new Promise<'deadline'>((r) =>
  setTimeout(() => r('deadline'), DEADLINE_MS).unref(),
);
await seeding;
await outage;
const outcome = await Promise.race([sent.then(() => 'sent' as const), deadline]);
await loop.close();

const unsynced = await unsyncedCount();
const queued = await store.count(GROUPS.syncQueue);
const dropped = await store.count(GROUPS.syncDropped);
await ctx.close();
await proxy.down();
await hub.stop();
const hubStorage = await openHubStorage(hubDb, { logger: silentLogger(), now: () => new Date() });
const versions = await hubStorage.versionCount();
const current = (await hubStorage.agent('soak'))?.dispatches ?? 0;
await hubStorage.close();
rmSync(dir, { recursive: true, force: true });

const c = proxy.counts;
console.log(`outcome: ${outcome} after ${since()} s`);
console.log(
  `proxy: ${c.requests} requests — ${c.ok} passed, ${c.e503} answered 503, ${c.timeout} timed out, ${c.reset} reset`,
);
console.log(
  `records committed: ${N}; stored on the hub: ${current} dispatches, ${versions} versions`,
);
console.log(
  `lost: ${N - current} (target 0); client side: ${unsynced} unsynced, ${queued} queued, ${dropped} dropped`,
);
console.log(
  `duplicates stored on the hub: ${versions - current} (target 0); requests with a key the hub had ` +
    `seen (a resend after a lost answer, or a copy): ${proxy.replays} (replayed by Idempotency-Key), ` +
    `${proxy.hubDuplicates} records (deduplicated)`,
);
if (recoveredAt !== undefined && drainedAt !== undefined) {
  const recovered = recoveredAt;
  const firstOk = proxy.okAt.find((t) => t >= recovered) ?? drainedAt;
  const step = backoffAtRecoveryMs ?? 0;
  console.log(
    `after recovery: first accepted push ${((firstOk - recovered) / 1000).toFixed(1)} s, ` +
      `queue sent ${((drainedAt - recovered) / 1000).toFixed(1)} s ` +
      `(back-off step in effect at recovery: ${step / 1000} s; ` +
      `${drainedAt - recovered <= step ? 'within' : 'NOT within'} one step); ` +
      (worstStreakAfter === 0
        ? 'no failed wave after recovery stepped the back-off'
        : `highest step taken after recovery: ${backoffDelay(worstStreakAfter, () => 0.5) / 1000} s ` +
          `(${worstStreakAfter} failed waves in a row)`),
  );
}
process.exitCode = outcome === 'sent' && N - current === 0 && versions === current ? 0 : 1;
