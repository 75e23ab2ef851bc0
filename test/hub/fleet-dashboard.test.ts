import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { fleetState } from '../../src/fleet/index.js';
import { waitUntil } from '../helpers/dispatch.js';
import { freshPostgresDatabase } from '../helpers/engines.js';
import { bareRepo, makeNode, registry, tearDownFleet, type TestNode } from '../fleet/harness.js';
import { hubEngines, startFixture, type HubFixture } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
// Under CI a missing browser must fail the run, never skip it.
const runIt = existsSync(CHROMIUM) || process.env['CI'] === 'true';

describe.skipIf(!runIt)('the dashboard Fleet view in headless Chromium', () => {
  let browser: Browser;
  let hub: HubFixture | undefined;
  let page: Page | undefined;
  let node: TestNode | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await page?.close();
    await hub?.close();
    if (dir) writeFileSync(join(dir, 'gate'), '');
    if (node) await tearDownFleet({ nodes: [node], dir: dir ?? node.root.coreRoot });
    if (dir) rmSync(dir, { recursive: true, force: true });
    page = undefined;
    hub = undefined;
    node = undefined;
    dir = undefined;
  });

  async function open(h: HubFixture, token: string): Promise<Page> {
    const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await p.goto(`${h.url}/?token=${encodeURIComponent(token)}`);
    await p.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
    return p;
  }

  it.skipIf(!inject('postgresUrl'))(
    "shows a running node of the hub's own PostgreSQL with its lease, running work and the queue",
    async () => {
      const url = await freshPostgresDatabase();
      dir = mkdtempSync(join(tmpdir(), 'agentic-hubfleet-ui-'));
      const repo = bareRepo(dir);
      node = makeNode(
        'node-a',
        url,
        'concurrency:\n  shell: 1\nfleet:\n  heartbeat_seconds: 1\n  lease_seconds: 15\n',
      );
      await node.start();
      const ctx = node.context();
      const names: string[] = [];
      try {
        for (let i = 1; i <= 3; i++) {
          // Held until the test ends (afterEach opens the gate), so a slow run under load
          // still finds the first task running and the other two queued.
          const task = `i=0; while [ ! -f ${join(dir, 'gate')} ] && [ $i -lt 6000 ]; do sleep 0.05; i=$((i+1)); done`;
          names.push(
            (await enqueueDispatch(ctx, { repo, agent: 'shell', task, issue: i })).workspace,
          );
        }
      } finally {
        await ctx.close();
      }
      await waitUntil(
        'one task running and two queued',
        async () => {
          const statuses = [...(await registry(url)).values()].map((r) => r.status).sort();
          return statuses.join(',') === 'queued,queued,running';
        },
        60_000,
      );

      hub = await startFixture(
        { name: 'postgres', db: async () => url },
        { fleetReader: fleetState },
      );
      hub.clock.set(new Date());
      page = await open(hub, hub.tokens.admin);
      const row = page.locator('#fleet-nodes tbody tr[data-node="node-a"]');
      await row.waitFor({ timeout: 30_000 });
      expect(await page.locator('body').getAttribute('data-fleet')).toBe('shown');
      expect(await page.locator('#fleet-nodes tbody tr').count()).toBe(1);
      expect(await row.getAttribute('data-lease')).toBe('live');
      // Node, lease, heartbeat age, running, host, pid of the daemon.
      expect(await row.innerText()).toMatch(
        new RegExp(`^node-a\\s+live\\s+[\\d.]+s ago\\s+1\\s+\\S+\\s+${node.daemonPid()}\\s`),
      );
      expect(await page.locator('#fleet-queued').innerText()).toBe('2');
      expect(await page.locator('#fleet-note').isHidden()).toBe(true);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-fleet.png'), fullPage: true });
    },
    120_000,
  );

  it('says why there is no fleet on a SQLite hub, and hides the view from an agent token', async () => {
    const sqlite = hubEngines().find((e) => e.name === 'sqlite');
    if (!sqlite) throw new Error('the SQLite engine is always available');
    hub = await startFixture(sqlite, { fleetReader: fleetState });
    page = await open(hub, hub.tokens.admin);
    await page.waitForSelector('body[data-fleet="none"]', { timeout: 30_000 });
    expect(await page.locator('#fleet').isVisible()).toBe(true);
    expect(await page.locator('#fleet-nodes').isHidden()).toBe(true);
    expect(await page.locator('#fleet-note').innerText()).toMatch(
      /^No fleet view: the hub database is SQLite/,
    );
    await page.close();

    page = await open(hub, hub.tokens.alice);
    await page.waitForSelector('body[data-fleet="hidden"]', { timeout: 30_000 });
    expect(await page.locator('#fleet').isHidden()).toBe(true);
  }, 60_000);
});
