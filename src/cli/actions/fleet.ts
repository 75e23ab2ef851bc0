import type { Command } from 'commander';
import { describeDifference } from '../../config/fleet-settings.js';
import { fleetConfigView, fleetView, setFleetSetting } from '../../fleet/index.js';
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

/** Runs `fleet config show`. */
export async function showConfig(_opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const view = await fleetConfigView(ctx);
    if (common.json) return writeJson(view);
    const from =
      view.source === 'fleet'
        ? `fleet settings, version ${view.version ?? '?'}, last set by ${view.updated_by ?? '?'} at ${view.updated_at ?? '?'}`
        : view.engine === 'postgres'
          ? "this node's agents.yaml (the fleet has none stored yet: the first daemon seeds them)"
          : `agents.yaml (${view.engine} store: one node, no fleet settings)`;
    process.stdout.write(`${from}\n`);
    await writeTable(
      ['KEY', 'VALUE'],
      Object.entries(view.keys).map(([key, value]) => [key, value]),
    );
    if (view.differences.length > 0)
      process.stdout.write(
        `agents.yaml here differs (the fleet's values are used): ${view.differences.map(describeDifference).join(', ')}\n`,
      );
  });
}

/** Runs `fleet config set <key> <value>`, or `unset <key>` with `raw` undefined. */
export async function setConfig(key: string, raw: string | undefined, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const value =
      raw === undefined
        ? undefined
        : (await import('../../config/agents-file.js')).parseYamlValue(raw);
    const change = await setFleetSetting(ctx, key, value);
    if (common.json) return writeJson(change);
    const shown = (v: string | number | undefined): string =>
      v === undefined ? 'unset' : String(v);
    const lines = change.changed.map((c) => `${c.key}: ${shown(c.before)} -> ${shown(c.after)}`);
    if (lines.length === 0) lines.push(`${key}: unchanged`);
    process.stdout.write(
      `${lines.join('\n')}\nfleet settings version ${change.version}; every node counts with it from its next claim\n`,
    );
  });
}
