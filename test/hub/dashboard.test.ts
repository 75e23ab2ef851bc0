import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dispatch, hubEngines, push, startFixture, type HubFixture } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
// Under CI a missing browser must fail the run, never skip it.
const runIt = existsSync(CHROMIUM) || process.env['CI'] === 'true';
const sqlite = hubEngines().find((e) => e.name === 'sqlite');

describe.skipIf(!runIt)('hub dashboard in headless Chromium', () => {
  let browser: Browser;
  let hub: HubFixture;
  let page: Page;
  const requests: string[] = [];

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

  beforeEach(async () => {
    if (!sqlite) throw new Error('the SQLite engine is always available');
    hub = await startFixture(sqlite);
    // The page computes ages against the browser's clock; keep the hub's clock near it.
    const now = Date.now();
    hub.clock.set(new Date(now));
    const ago = (minutes: number): string => new Date(now - minutes * 60_000).toISOString();
    const times = { started_at: ago(40), updated_at: ago(10), committed_at: ago(10) };
    await push(
      hub,
      hub.tokens.alice,
      'alice',
      [
        dispatch('core/go-io/task-1', {
          ...times,
          changes: { commits: 2, files_changed: 3, insertions: 40, deletions: 7 },
          qa: { passed: true, summary_text: 'QA passed: 2 checks (npm ci, npm test)' },
          delivered: { mode: 'branch', ref: 'refs/heads/agent/task-1', sha: 'abc', at: ago(9) },
        }),
        dispatch('core/go-io/task-2', {
          ...times,
          status: 'failed',
          question: 'the integration tests time out on CI',
          changes: { commits: 1, files_changed: 1, insertions: 3, deletions: 0 },
          qa: { passed: false, summary_text: 'QA failed: 1 of 2 checks' },
        }),
        dispatch('core/go-io/pr-7', {
          ...times,
          status: 'blocked',
          question: 'which API version?',
        }),
      ],
      'a-1',
      'node-alice',
    );
    await push(hub, hub.tokens.bob, 'bob', [
      dispatch('lab/web/task-9', {
        status: 'running',
        agent: 'claude',
        started_at: ago(25),
        updated_at: ago(25),
      }),
      dispatch('lab/web/task-10', { ...times, status: 'merged', agent: 'claude' }),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The page must never reach beyond the hub: record every request it makes.
    page.on('request', (req) => requests.push(req.url()));
  });
  afterEach(async () => {
    await page?.close();
    await hub?.close();
    requests.length = 0;
  });

  const rows = (p: Page) => p.locator('#dispatches tbody tr');
  const ready = (p: Page) => p.waitForSelector('body[data-state="ready"]');

  it('shows nodes, counts and pushed dispatches, keeps the token out of the URL, and saves a screenshot', async () => {
    await page.goto(`${hub.url}/?token=${encodeURIComponent(hub.tokens.admin)}`);
    await ready(page);
    expect(page.url()).toBe(`${hub.url}/`);

    await expect.poll(() => rows(page).count()).toBe(5);
    const nodes = await page.locator('#nodes tbody tr').allInnerTexts();
    expect(nodes).toHaveLength(2);
    expect(nodes[0]).toMatch(/alice\s+node-alice\s+online/);
    expect(nodes[1]).toMatch(/bob\s+-\s+online/);
    expect(await page.locator('#counts button[data-status="failed"] b').innerText()).toBe('1');
    expect(await page.locator('#counts button[data-status="merged"] b').innerText()).toBe('1');
    expect(await page.locator('#total').innerText()).toBe('5');

    const failed = page.locator('#dispatches tbody tr[data-id="core/go-io/task-2"]');
    const running = page.locator('#dispatches tbody tr[data-id="lab/web/task-9"]');
    expect(await running.innerText()).toMatch(/running\s+25m 0s/);
    expect(await failed.innerText()).toMatch(
      /alice\s+core\/go-io\/task-2\s+core\/go-io\s+codex\s+failed\s+30m 0s\s+\+3 \u22120 \(1\)\s+FAIL\s+agent\/task-2 awaiting review\s+the integration tests time out on CI\s+10m ago/,
    );
    const delivered = page.locator('#dispatches tbody tr[data-id="core/go-io/task-1"]');
    expect(await delivered.innerText()).toMatch(
      /completed\s+30m 0s\s+\+40 \u22127 \(2\)\s+pass\s+agent\/task-1 delivered/,
    );
    expect(await delivered.locator('td[data-qa]').getAttribute('title')).toBe(
      'QA passed: 2 checks (npm ci, npm test)',
    );

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(requests.every((u) => u.startsWith(hub.url))).toBe(true);
  });

  it('filters by status, node, repo and free text', async () => {
    await page.goto(`${hub.url}/?token=${encodeURIComponent(hub.tokens.admin)}`);
    await ready(page);
    await expect.poll(() => rows(page).count()).toBe(5);

    await page.selectOption('#filter-status', 'failed');
    await expect.poll(() => rows(page).count()).toBe(1);
    expect(await rows(page).first().getAttribute('data-id')).toBe('core/go-io/task-2');

    await page.selectOption('#filter-status', '');
    await page.selectOption('#filter-agent', 'bob');
    await expect
      .poll(async () =>
        (
          await rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-agent-id')))
        ).join(','),
      )
      .toBe('bob,bob');

    await page.selectOption('#filter-agent', '');
    await page.fill('#filter-repo', 'core/go-io');
    await page.press('#filter-repo', 'Enter');
    await expect.poll(() => rows(page).count()).toBe(3);

    await page.fill('#filter-text', 'which api');
    await expect.poll(() => rows(page).count()).toBe(1);
    expect(await rows(page).first().getAttribute('data-id')).toBe('core/go-io/pr-7');

    await page.fill('#filter-text', '');
    await page.fill('#filter-repo', '');
    await page.press('#filter-repo', 'Enter');
    await page.click('#counts button[data-status="merged"]');
    await expect.poll(() => rows(page).count()).toBe(1);
    expect(await rows(page).first().getAttribute('data-id')).toBe('lab/web/task-10');
  });

  it('refreshes by itself and shows a dispatch pushed after the page loaded', async () => {
    await page.goto(`${hub.url}/?token=${encodeURIComponent(hub.tokens.admin)}`);
    await ready(page);
    await expect.poll(() => rows(page).count()).toBe(5);
    await push(hub, hub.tokens.carol, 'carol', [
      dispatch('core/go-store/task-3', { status: 'queued' }),
    ]);
    await page.waitForSelector('#dispatches tbody tr[data-id="core/go-store/task-3"]', {
      timeout: 15_000,
    });
    expect(await page.locator('#nodes tbody tr').count()).toBe(3);
  });

  it('asks for a token when it has none, and again when the hub refuses it', async () => {
    await page.goto(`${hub.url}/`);
    await page.waitForSelector('body[data-state="login"]');
    await page.fill('#token-input', 'agh_wrong');
    await page.click('#login-form button');
    await expect.poll(() => page.locator('#login-error').innerText()).toMatch(/did not accept/);
    expect(await page.locator('#main').isHidden()).toBe(true);

    await page.fill('#token-input', hub.tokens.bob);
    await page.click('#login-form button');
    await ready(page);
    // An agent's token shows that agent's own dispatches only.
    await expect.poll(() => rows(page).count()).toBe(2);
    expect(await page.locator('#dispatches tbody tr[data-agent-id="alice"]').count()).toBe(0);
  });
});
