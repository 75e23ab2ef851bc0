import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  createToken,
  openHubStorage,
  startHubServer,
  type HubServerOptions,
  type HubStorage,
} from '../../src/hub/index.js';
import { ManualClock } from '../helpers/context.js';
import { engines, type EngineCase } from '../helpers/engines.js';

/** A hub engine under test: a fresh database for each call of `db()`. */
export interface HubEngineCase {
  name: EngineCase['name'];
  /** A `--db` value: a SQLite file in `dir`, or a fresh PostgreSQL database URL. */
  db(dir: string): Promise<string>;
}

/** SQLite always; PostgreSQL when the test cluster runs (always under CI). */
export function hubEngines(): HubEngineCase[] {
  return engines().map((e) => ({
    name: e.name,
    db: async (dir) => (await e.storeUrl()) ?? join(dir, 'hub.sqlite'),
  }));
}

/** A running in-process hub with three agent tokens and an admin token, on a manual clock. */
export interface HubFixture {
  url: string;
  storage: HubStorage;
  clock: ManualClock;
  /** Every log line the hub wrote (pino JSON). */
  logs: string[];
  tokens: { alice: string; bob: string; carol: string; admin: string };
  close(): Promise<void>;
}

/** Starts a hub on 127.0.0.1:0 over a fresh database of `engine`. */
export async function startFixture(
  engine: HubEngineCase,
  options: Partial<Omit<HubServerOptions, 'storage'>> = {},
): Promise<HubFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'agentic-hub-'));
  const clock = new ManualClock(new Date('2026-03-01T12:00:00.000Z'));
  const logs: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const storage = await openHubStorage(await engine.db(dir), { logger, now: () => clock.now() });
  const tokens = {
    alice: (await createToken(storage, 'alice', clock)).token,
    bob: (await createToken(storage, 'bob', clock)).token,
    carol: (await createToken(storage, 'carol', clock)).token,
    admin: (await createToken(storage, null, clock)).token,
  };
  const hub = await startHubServer({ storage, clock, logger, port: 0, ...options });
  return {
    url: hub.url,
    storage,
    clock,
    logs,
    tokens,
    async close() {
      await hub.close();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A dispatch record as a node pushes it: `id`, `fingerprint` (`<updated_at>#<runs>`) and journal fields. */
export function dispatch(
  id: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const [org = 'core', repo = 'go-io'] = id.split('/');
  const record: Record<string, unknown> = {
    workspace: id,
    org,
    repo,
    task: `work on ${id}`,
    agent: 'codex',
    branch: `agent/${id.split('/').at(-1) ?? 'x'}`,
    status: 'completed',
    runs: 1,
    started_at: '2026-03-01T10:00:00.000Z',
    updated_at: '2026-03-01T10:30:00.000Z',
    committed_at: '2026-03-01T10:30:01.000Z',
    ...overrides,
  };
  return {
    id,
    fingerprint: `${String(record['updated_at'])}#${String(record['runs'])}`,
    ...record,
  };
}

/** Sends one request with an optional bearer token and JSON body; returns status, headers and parsed body. */
export async function call(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  options: {
    token?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (e.g. the dashboard page); keep the text.
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Pushes `dispatches` as `agentId` with `token` (and an Idempotency-Key when given). */
export function push(
  hub: HubFixture,
  token: string,
  agentId: string,
  dispatches: unknown[],
  key?: string,
  fleetNodeId?: string,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  return call(hub.url, 'POST', '/v1/agent/sync', {
    token,
    body: {
      agent_id: agentId,
      ...(fleetNodeId !== undefined ? { fleet_node_id: fleetNodeId } : {}),
      dispatches,
    },
    ...(key !== undefined ? { headers: { 'idempotency-key': key } } : {}),
  });
}
