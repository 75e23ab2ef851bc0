import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import {
  createToken,
  openHubStorage,
  startHubServer,
  type HubStorage,
} from '../../src/hub/index.js';
import { systemClock } from '../../src/lib/clock.js';

describe('hub server lifecycle', () => {
  let dir: string;
  let storage: HubStorage;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-hub-'));
    storage = await openHubStorage(join(dir, 'hub.sqlite'), {
      logger: silentLogger(),
      now: () => new Date(),
    });
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes at once when only idle keep-alive connections remain', async () => {
    const hub = await startHubServer({ storage, port: 0, shutdownTimeoutMs: 5_000 });
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    const started = Date.now();
    await hub.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(fetch(`${hub.url}/healthz`)).rejects.toThrow();
  });

  it('gives a request still in flight the shutdown timeout, then cuts it', async () => {
    const { token } = await createToken(storage, 'alice', systemClock);
    const hub = await startHubServer({ storage, port: 0, shutdownTimeoutMs: 300 });
    const req = request(`${hub.url}/v1/agent/sync`, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked', authorization: `Bearer ${token}` },
    });
    const outcome = new Promise<string>((resolve) => {
      req.on('response', (res) => resolve(`status ${String(res.statusCode)}`));
      req.on('error', (err) => resolve(err.message));
    });
    // Half a body: the request stays in flight until the server gives up on it.
    req.write('{"agent_id":');
    await new Promise<void>((resolve) => req.on('socket', (s) => s.on('connect', resolve)));
    const started = Date.now();
    await hub.close();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3_000);
    expect(await outcome).toMatch(/socket hang up|ECONNRESET/);
  });

  it('refuses a second server on a port in use with IO_FAILED', async () => {
    const hub = await startHubServer({ storage, port: 0 });
    try {
      await expect(startHubServer({ storage, port: hub.port })).rejects.toMatchObject({
        code: 'IO_FAILED',
        field: 'port',
      });
    } finally {
      await hub.close();
    }
  });
});
