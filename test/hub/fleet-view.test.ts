import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FleetMembership, fleetState, fleetView } from '../../src/fleet/index.js';
import {
  createToken,
  openHubStorage,
  type DashboardFleet,
  type HubStorage,
} from '../../src/hub/index.js';
import { trackWorkspace } from '../../src/lifecycle/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { loadMigrations } from '../../src/store/migrations.js';
import { CLI, json, runCli } from '../helpers/cli.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { freshPostgresDatabase } from '../helpers/engines.js';
import { sampleRecord } from '../helpers/records.js';
import { call, hubEngines, startFixture, type HubFixture } from './fixture.js';

const latest = (set: 'postgres' | 'hub-postgres'): number =>
  loadMigrations(set).at(-1)?.version ?? 0;

async function tables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query<{ name: string }>(
      'SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1',
    );
    return res.rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

/** A hub on `db`, its clock at the real time (nodes heartbeat on the real clock). */
function hubOn(db: string): Promise<HubFixture> {
  return startFixture({ name: 'postgres', db: async () => db }, { fleetReader: fleetState }).then(
    (hub) => {
      hub.clock.set(new Date());
      return hub;
    },
  );
}

async function fleetOf(hub: HubFixture, token = hub.tokens.admin): Promise<DashboardFleet> {
  const res = await call(hub.url, 'GET', '/v1/dashboard/fleet', { token });
  expect(res.status).toBe(200);
  return res.body as DashboardFleet;
}

describe('the Fleet view of a SQLite hub', () => {
  let hub: HubFixture | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('says the hub database is not the fleet store', async () => {
    const sqlite = hubEngines().find((e) => e.name === 'sqlite');
    if (!sqlite) throw new Error('the SQLite engine is always available');
    hub = await startFixture(sqlite, { fleetReader: fleetState });
    const view = await fleetOf(hub);
    expect(view).toMatchObject({ fleet: false });
    expect(view.fleet === false && view.reason).toMatch(/hub database is SQLite/);
  });
});

describe.skipIf(!inject('postgresUrl'))('a hub on the fleet PostgreSQL database', () => {
  let url: string;
  let roots: TempRoot[] = [];
  let contexts: AppContext[] = [];
  let members: FleetMembership[] = [];
  let hub: HubFixture | undefined;
  let extra: HubStorage | undefined;

  beforeEach(async () => {
    url = await freshPostgresDatabase();
  });
  afterEach(async () => {
    for (const m of members) await m.close();
    for (const c of contexts) await c.close();
    await hub?.close();
    await extra?.close();
    for (const r of roots) r.cleanup();
    members = [];
    contexts = [];
    roots = [];
    hub = undefined;
    extra = undefined;
  });

  /** A node's context on the shared database; `clock` stands in for a node whose clock is behind. */
  function node(id: string, clock?: ManualClock): AppContext {
    const root = tempRoot(`agentic-hubfleet-${id}-`);
    roots.push(root);
    const ctx = testContext(root, {
      env: { ...root.env, CORE_AGENT_STORE_URL: url, CORE_AGENT_FLEET_NODE_ID: id },
      ...(clock ? { clock } : {}),
    });
    contexts.push(ctx);
    return ctx;
  }

  async function join(ctx: AppContext): Promise<FleetMembership> {
    const m = await FleetMembership.join(ctx);
    members.push(m);
    return m;
  }

  it('migrates beside the state store in either order, with no table of one in the other', async () => {
    extra = await openHubStorage(url, { logger: silentLogger(), now: () => new Date() });
    const hubOnly = await tables(url);
    expect(hubOnly.length).toBeGreaterThan(3);
    expect(hubOnly.every((t) => t.startsWith('hub_'))).toBe(true);

    const store = await node('a').store();
    expect(store.engine).toBe('postgres');
    expect(store.degraded).toBe(false);
    expect(store.schemaVersion).toBe(latest('postgres'));
    const both = await tables(url);
    const stateTables = both.filter((t) => !hubOnly.includes(t));
    expect(stateTables).toEqual(expect.arrayContaining(['kv', 'schema_migrations']));
    expect(stateTables.some((t) => t.startsWith('hub_'))).toBe(false);

    // The other order, on a database of its own: the same tables, and both reopen cleanly.
    const other = await freshPostgresDatabase();
    const firstRoot = tempRoot('agentic-hubfleet-first-');
    roots.push(firstRoot);
    const first = testContext(firstRoot, {
      env: { ...firstRoot.env, CORE_AGENT_STORE_URL: other, CORE_AGENT_FLEET_NODE_ID: 'b' },
    });
    contexts.push(first);
    expect((await first.store()).schemaVersion).toBe(latest('postgres'));
    expect((await tables(other)).some((t) => t.startsWith('hub_'))).toBe(false);
    const second = await openHubStorage(other, { logger: silentLogger(), now: () => new Date() });
    try {
      expect(second.schemaVersion).toBe(latest('hub-postgres'));
      expect(await tables(other)).toEqual(both);
    } finally {
      await second.close();
    }
    await extra.close();
    extra = await openHubStorage(url, { logger: silentLogger(), now: () => new Date() });
    expect(extra.schemaVersion).toBe(latest('hub-postgres'));
    expect(await tables(url)).toEqual(both);
  });

  it('lists every node with its lease, running count and the queue, as fleet nodes computes them', async () => {
    const a = node('node-a');
    const b = node('node-b', new ManualClock(new Date(Date.now() - 10 * 60_000)));
    await join(a);
    await join(b);
    await trackWorkspace(
      a,
      'core/go-io/task-1',
      sampleRecord({ status: 'running', node: 'node-a', started_at: new Date().toISOString() }),
    );
    await trackWorkspace(a, 'core/go-io/task-2', sampleRecord());
    await trackWorkspace(a, 'core/go-io/task-3', sampleRecord());
    hub = await hubOn(url);

    const view = await fleetOf(hub);
    if (!view.fleet) throw new Error(`expected the fleet, got: ${view.reason}`);
    expect(view.engine).toBe('postgres');
    expect(view.queued).toBe(2);
    expect(view.nodes.map((n) => [n.node_id, n.lease, n.running])).toEqual([
      ['node-a', 'live', 1],
      ['node-b', 'expired', 0],
    ]);
    expect(view.nodes[1]?.heartbeat_age_s).toBeGreaterThanOrEqual(600);
    expect(view.nodes[0]).not.toHaveProperty('incarnation');

    // The CLI's view of the same store agrees node for node.
    const cli = await fleetView(a);
    expect(cli.queued).toBe(view.queued);
    expect(cli.nodes.map((n) => [n.node_id, n.lease, n.running, n.pid, n.hostname])).toEqual(
      view.nodes.map((n) => [n.node_id, n.lease, n.running, n.pid, n.hostname]),
    );

    // Same auth as the dashboard: viewer yes, agent token no, no token no.
    const viewer = (await createToken(hub.storage, null, hub.clock, 'viewer')).token;
    expect((await fleetOf(hub, viewer)).fleet).toBe(true);
    const agent = await call(hub.url, 'GET', '/v1/dashboard/fleet', { token: hub.tokens.alice });
    expect(agent.status).toBe(403);
    const none = await call(hub.url, 'GET', '/v1/dashboard/fleet');
    expect(none.status).toBe(401);
  });

  it('says there is no fleet until a node uses the database, then shows it', async () => {
    hub = await hubOn(url);
    const before = await fleetOf(hub);
    expect(before.fleet === false && before.reason).toMatch(/no fleet state store/);
    await join(node('node-a'));
    const after = await fleetOf(hub);
    expect(after.fleet && after.nodes.map((n) => [n.node_id, n.lease])).toEqual([
      ['node-a', 'live'],
    ]);
  });

  it('agentic hub on the fleet database serves the Fleet view (the verb hands in the fleet reader)', async () => {
    await join(node('node-a'));
    const root = tempRoot('agentic-hubfleet-cli-');
    roots.push(root);
    const admin = json<{ token: string }>(
      await runCli(['hub', 'token', 'create', '--admin', '--db', url, '--json'], root.env),
    ).token;
    const child = spawn(process.execPath, [CLI, 'hub', '--db', url, '--port', '0'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...root.env },
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const base = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', () => {
          const found = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
          if (found) resolve(found);
        });
        void exited.then(() => reject(new Error(`hub exited before listening:\n${stderr}`)));
      });
      const res = await call(base, 'GET', '/v1/dashboard/fleet', { token: admin });
      expect(res.status).toBe(200);
      const view = res.body as DashboardFleet;
      expect(view.fleet && view.nodes.map((n) => [n.node_id, n.lease])).toEqual([
        ['node-a', 'live'],
      ]);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('never migrates the fleet tables: a store behind this build is reported, not upgraded', async () => {
    await join(node('node-a'));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('DELETE FROM schema_migrations WHERE version = $1', [latest('postgres')]);
      hub = await hubOn(url);
      const view = await fleetOf(hub);
      expect(view.fleet === false && view.reason).toMatch(/upgrade the nodes/);
      const { rows } = await client.query<{ v: number }>(
        'SELECT MAX(version)::int AS v FROM schema_migrations',
      );
      expect(rows[0]?.v).toBe(latest('postgres') - 1);
    } finally {
      await client.end();
    }
  });
});
