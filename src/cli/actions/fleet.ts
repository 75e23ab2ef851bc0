import type { Command } from 'commander';
import { fleetView } from '../../fleet/index.js';
import { age, runVerb, writeJson, writeTable } from './run-verb.js';

/** Runs `nodes`. */
export async function nodes(_opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const view = await fleetView(ctx);
    if (common.json) return writeJson(view);
    const now = ctx.clock.now();
    await writeTable(
      ['NODE', 'LEASE', 'HEARTBEAT', 'RUNNING', 'HOST', 'PID', 'VERSION', 'STARTED'],
      view.nodes.map((n) => [
        n.node_id === view.self ? `${n.node_id} (this node)` : n.node_id,
        n.lease,
        age(n.heartbeat_at, now),
        n.running,
        n.hostname,
        n.pid,
        n.version,
        age(n.started_at, now),
      ]),
    );
    process.stdout.write(`${view.queued} queued (${view.engine} store)\n`);
  });
}
