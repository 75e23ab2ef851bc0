import type { Command } from 'commander';
import { setFrozen } from '../../dispatch/frozen.js';
import { finishKilledWithoutRunner } from '../../dispatch/kill-alone.js';
import { leaseHeld, readLease } from '../../dispatch/runner-lease.js';
import { Runner } from '../../dispatch/runner.js';
import { waitForStore } from '../../dispatch/store-wait.js';
import { clearPauses, pausedPoolsFromFile } from '../../dispatch/runtime-state.js';
import { killAll } from '../../dispatch/control.js';
import { wakeRunner } from '../../dispatch/wake.js';
import { readAllRecords } from '../../lifecycle/index.js';
import { AgenticError } from '../../lib/errors.js';
import { poolOf, workspaceDir } from '../../workspace/index.js';
import { lastLogLine, logPath } from '../../dispatch/launch.js';
import { naturalOrder } from '../../dispatch/status-report.js';
import type { StatusRecord } from '../../workspace/index.js';
import { age, oneLine, runVerb, writeJson, writeTable } from './run-verb.js';
import { resolveMcpHttpFlags, startMcpHttp, type McpHttpFlags } from '../../mcp/index.js';
import { isFleet } from '../../store/index.js';

/** Runs `daemon`. */
export async function daemon(opts: McpHttpFlags, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx) => {
    const mcpSettings = resolveMcpHttpFlags(opts, ctx.config.mcpTokenEnv);
    // Listen for the stop signals before anything is announced: a SIGTERM sent as soon as
    // the MCP endpoint logs that it listens must stop the daemon in order, not kill it.
    const stopSignal = new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    // SIGHUP re-reads agents.yaml (as a change to the file does); it never stops the daemon.
    const hangup: { runner?: Runner | undefined; early: boolean } = { early: false };
    process.on('SIGHUP', () => {
      if (hangup.runner) hangup.runner.reloadConfig();
      else hangup.early = true;
    });
    // Fleet mode has no degraded fallback: until PostgreSQL answers, the daemon waits and says so.
    const opened = await waitForStore(ctx, stopSignal);
    if (opened === undefined) return;
    const runner = await Runner.start(ctx, { afterOutage: opened.waited });
    hangup.runner = runner;
    if (hangup.early) runner?.reloadConfig();
    if (!runner) {
      const lease = readLease(ctx.config.coreRoot);
      throw new AgenticError(
        'STATE_CONFLICT',
        `another runner holds the lease for ${ctx.config.coreRoot} (pid ${lease?.pid ?? '?'})`,
      );
    }
    const mcp = mcpSettings
      ? await startMcpHttp(ctx, mcpSettings).catch(async (err: unknown) => {
          await runner.close();
          throw err;
        })
      : undefined;
    const keepAlive = setInterval(() => undefined, 60_000);
    // A runner that lost its node lease stops by itself; so does the daemon then.
    await Promise.race([stopSignal, runner.stopped]);
    clearInterval(keepAlive);
    const timeout = setTimeout(() => process.exit(1), 30_000);
    timeout.unref();
    await mcp?.close();
    await runner.close();
  });
}

/** Runs `stop`. */
export async function stop(_opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    await setFrozen(ctx, true);
    await wakeRunner(ctx.config.coreRoot);
    if (common.json) return writeJson({ success: true, frozen: true });
    process.stdout.write('dispatching frozen; running agents continue (agentic start to resume)\n');
  });
}

/** Runs `start`. */
export async function start(_opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    await setFrozen(ctx, false);
    // Starting again is also the operator's word that a paused pool may run now.
    const unpaused = await clearPauses(ctx);
    await wakeRunner(ctx.config.coreRoot);
    if (common.json) return writeJson({ success: true, frozen: false, unpaused });
    process.stdout.write(
      `dispatching resumed${unpaused.length > 0 ? `; pause cleared for ${unpaused.join(', ')}` : ''}\n`,
    );
  });
}

/** Runs `kill`. */
export async function kill(_opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const result = await killAll(ctx);
    // With no runner to finish what was killed, this command does: it waits out the grace
    // period, SIGKILLs what is left and records how each run ended.
    const alone = !leaseHeld(ctx.config.coreRoot, ctx.clock.now());
    const finished = alone ? await finishKilledWithoutRunner(ctx, result.killed) : [];
    if (common.json)
      return writeJson({ success: true, frozen: true, ...result, runner_running: !alone });
    process.stdout.write(
      alone
        ? `frozen; terminated ${finished.length} running (no runner is up: their ends are recorded), cancelled ${result.cancelled.length} queued\n`
        : `frozen; terminating ${result.killed.length} running, cancelled ${result.cancelled.length} queued\n`,
    );
  });
}

/** Runs `watch`. */
export async function watch(
  opts: { once?: boolean; interval: number },
  cmd: Command,
): Promise<void> {
  return runVerb(cmd, async (ctx) => {
    let stop = false;
    let wake: () => void = () => undefined;
    const quit = (): void => {
      stop = true;
      wake();
    };
    process.once('SIGINT', quit);
    const keys = opts.once ? undefined : watchKeys(quit);
    try {
      // A fleet shares one store: each row says which node runs it; another node's log is on
      // that machine (`agentic logs` fetches it), so its last line is not shown here.
      const fleet = isFleet(await ctx.store());
      const here = (r: StatusRecord): boolean =>
        !fleet || r.node === undefined || r.node === ctx.config.nodeId;
      do {
        const records = await readAllRecords(ctx);
        const now = ctx.clock.now();
        const rows = [...records]
          .sort(([a], [b]) => naturalOrder(a, b))
          .map(([name, r]) => [
            name,
            r.status === 'running' && r.pid === undefined ? 'preparing' : r.status,
            ...(fleet ? [r.node ?? ''] : []),
            r.agent,
            elapsed(r, now),
            r.status === 'running' && !here(r)
              ? `(log on node ${r.node ?? '?'})`
              : r.status === 'running'
                ? oneLine(
                    lastLogLine(
                      logPath(workspaceDir(ctx.config.workspaceRoot, name), poolOf(r.agent)),
                    ),
                    60,
                  )
                : oneLine(r.question, 60),
          ]);
        if (!opts.once && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
        await writeTable(
          [
            'WORKSPACE',
            'STATUS',
            ...(fleet ? ['NODE'] : []),
            'AGENT',
            'ELAPSED',
            'LAST LINE / QUESTION',
          ],
          rows,
        );
        for (const p of pausedPoolsFromFile(ctx.config.coreRoot, now))
          process.stdout.write(
            `pool ${p.pool} paused until ${p.until}: ${oneLine(p.reason, 100)}\n`,
          );
        if (opts.once || stop) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.interval);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      } while (!stop);
    } finally {
      process.off('SIGINT', quit);
      keys?.();
    }
  });
}

/**
 * How long a workspace has been at it: running or preparing since it started; finished work
 * shows how long it ran (start to last update), which no longer grows; queued work, how long it
 * has waited.
 */
function elapsed(r: StatusRecord, now: Date): string {
  if (r.status === 'running') return age(r.started_at, now);
  if (r.status === 'queued') return age(r.queued_at ?? r.updated_at, now);
  if (r.started_at === undefined) return '-';
  return age(r.started_at, new Date(r.updated_at));
}

/**
 * Quits `watch` on `q` (or Ctrl-C, which raw mode turns into a key) from stdin; on a terminal
 * stdin goes into raw mode so no Enter is needed. Returns the function that restores stdin.
 */
function watchKeys(quit: () => void): () => void {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    if (text.includes('q') || text.includes('Q') || text.includes('\u0003')) quit();
  };
  stdin.on('data', onData);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
  };
}
