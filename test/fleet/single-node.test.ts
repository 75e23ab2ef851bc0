import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FleetView } from '../../src/fleet/index.js';
import { json, runCli } from '../helpers/cli.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { startDaemon, type Daemon } from '../helpers/dispatch.js';

describe('fleet nodes on the embedded SQLite store', () => {
  let root: TempRoot;
  let daemon: Daemon | undefined;
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    root.cleanup();
  });

  it('lists the one node, live, under its current id only', async () => {
    daemon = await startDaemon(root, { CORE_AGENT_FLEET_NODE_ID: 'old-name' });
    await daemon.stop('SIGTERM');
    daemon = await startDaemon(root, { CORE_AGENT_FLEET_NODE_ID: 'laptop' });
    const view = json<FleetView>(
      await runCli(['fleet', 'nodes', '--json'], {
        ...root.env,
        CORE_AGENT_FLEET_NODE_ID: 'laptop',
      }),
    );
    expect(view.engine).toBe('sqlite');
    expect(view.nodes).toHaveLength(1);
    expect(view.nodes[0]).toMatchObject({
      node_id: 'laptop',
      lease: 'live',
      pid: daemon.proc.pid,
      running: 0,
    });
    const table = await runCli(['fleet', 'nodes'], {
      ...root.env,
      CORE_AGENT_FLEET_NODE_ID: 'laptop',
    });
    expect(table.stdout).toMatch(/laptop \(this node\)\s+live/);
  });
});
