import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openHubStorage } from '../../src/hub/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { loadMigrations } from '../../src/store/migrations.js';
import { call, dispatch, hubEngines, push, startFixture, type HubFixture } from './fixture.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => {
  exec(sql: string): void;
  close(): void;
};

interface PageBody {
  data: Array<{ type: string; id: string; text?: string; fingerprint?: string }>;
  cursor: string;
  has_more: boolean;
}

describe.each(hubEngines())('hub context pages by the hub cursor on $name', (engine) => {
  let hub: HubFixture;
  beforeEach(async () => {
    hub = await startFixture(engine);
  });
  afterEach(async () => {
    await hub?.close();
  });

  const page = async (query: string, token = hub.tokens.bob): Promise<PageBody> => {
    const res = await call(hub.url, 'GET', `/v1/agent/context?agent_id=bob&${query}`, { token });
    expect(res.status).toBe(200);
    return res.body as PageBody;
  };
  const note = (text: string): Promise<unknown> =>
    call(hub.url, 'POST', '/v1/agent/context', { token: hub.tokens.admin, body: { text } });

  it('answers in change order with a next cursor and has_more, whatever the timestamps say', async () => {
    await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')]);
    await note('first note');
    // The hub clock goes backwards: order still follows the changes.
    hub.clock.advance(-3600_000);
    await push(hub, hub.tokens.carol, 'carol', [dispatch('core/c/task-1')]);
    await push(hub, hub.tokens.bob, 'bob', [dispatch('core/b/own')]);

    const first = await page('cursor=0&limit=2');
    expect(first.data.map((i) => i.text ?? i.id)).toEqual(['core/a/task-1', 'first note']);
    expect(first.has_more).toBe(true);
    const second = await page(`cursor=${first.cursor}&limit=2`);
    expect(second.data.map((i) => i.id)).toEqual(['core/c/task-1']);
    expect(second.has_more).toBe(false);
    // Past bob's own change too: the next pull does not scan it again.
    expect(Number(second.cursor)).toBeGreaterThan(Number(first.cursor));
    expect(await page(`cursor=${second.cursor}`)).toEqual({
      data: [],
      cursor: second.cursor,
      has_more: false,
    });

    // A newer version moves its dispatch to the end; the older one is not served twice.
    await push(hub, hub.tokens.alice, 'alice', [
      dispatch('core/a/task-1', {
        status: 'merged',
        updated_at: '2026-03-01T11:00:00.000Z',
        runs: 2,
      }),
    ]);
    const moved = await page(`cursor=${second.cursor}`);
    expect(moved.data.map((i) => i.fingerprint)).toEqual(['2026-03-01T11:00:00.000Z#2']);
  });

  it('starts over for a cursor beyond what this hub handed out, and rejects one it could not have', async () => {
    await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')]);
    const restarted = await page('cursor=999999');
    expect(restarted.data.map((i) => i.id)).toEqual(['core/a/task-1']);
    for (const bad of ['-1', 'abc', '1.5', '01']) {
      const res = await call(hub.url, 'GET', `/v1/agent/context?agent_id=bob&cursor=${bad}`, {
        token: hub.tokens.bob,
      });
      expect(res).toMatchObject({ status: 400, body: { error: { field: 'cursor' } } });
    }
  });

  it('still answers a node that sends no cursor as before: newest first by time, no cursor', async () => {
    await push(hub, hub.tokens.alice, 'alice', [dispatch('core/a/task-1')]);
    hub.clock.advance(1000);
    await note('later note');
    const res = await call(hub.url, 'GET', '/v1/agent/context?agent_id=bob', {
      token: hub.tokens.bob,
    });
    expect(res.body).toEqual({
      data: [
        expect.objectContaining({ type: 'note', text: 'later note' }),
        expect.objectContaining({ type: 'dispatch', id: 'core/a/task-1' }),
      ],
    });
  });

  it('misses nothing when pages are read while pushes and notes commit concurrently', async () => {
    const writers = Array.from({ length: 12 }, async (_, w) => {
      for (let b = 0; b < 4; b++) {
        const records = Array.from({ length: 25 }, (_, i) =>
          dispatch(`core/w${w}/task-${b * 25 + i}`),
        );
        const token = w % 2 === 0 ? hub.tokens.alice : hub.tokens.carol;
        const res = await push(hub, token, w % 2 === 0 ? 'alice' : 'carol', records);
        expect(res.status).toBe(200);
        if (b === 1) await note(`note from writer ${w}`);
      }
    });
    let done = false;
    const seen = new Set<string>();
    let cursor = '0';
    const drain = async (): Promise<void> => {
      for (;;) {
        const body = await page(`cursor=${cursor}&limit=50`);
        for (const item of body.data) seen.add(item.text ?? item.id);
        cursor = body.cursor;
        if (!body.has_more) return;
      }
    };
    const reader = (async () => {
      while (!done) await drain();
    })();
    await Promise.all(writers);
    done = true;
    await reader;
    await drain();
    expect(seen.size).toBe(12 * 100 + 12);
  });
});

describe.each(hubEngines())('a hub database from before paging, upgraded on $name', (engine) => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-hub-upgrade-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `sql` on the database at `db` (a SQLite file or a PostgreSQL URL). */
  const exec = async (db: string, sql: string): Promise<void> => {
    if (engine.name === 'postgres') {
      const client = new pg.Client({ connectionString: db });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
      return;
    }
    const sqlite = new Database(db);
    try {
      sqlite.exec(sql);
    } finally {
      sqlite.close();
    }
  };

  it('serves the rows stored before the upgrade in time order, then every change after them', async () => {
    const db = await engine.db(dir);
    const [first] = loadMigrations(engine.name === 'postgres' ? 'hub-postgres' : 'hub-sqlite');
    await exec(
      db,
      `${first?.sql ?? ''};
       CREATE TABLE hub_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
       INSERT INTO hub_schema_migrations VALUES (1, '001_hub', '2026-01-01T00:00:00.000Z');
       INSERT INTO hub_dispatches (agent_id, dispatch_id, fingerprint, version_ms, version_runs, record, received_at)
         VALUES ('alice', 'core/a/late', 'f#1', 0, 1, '{"id":"core/a/late"}', '2026-02-01T00:00:02.000Z'),
                ('alice', 'core/a/early', 'f#1', 0, 1, '{"id":"core/a/early"}', '2026-02-01T00:00:00.000Z');
       INSERT INTO hub_notes (target_agent_id, note, created_at)
         VALUES (NULL, '{"text":"old note"}', '2026-02-01T00:00:01.000Z');`,
    );
    const storage = await openHubStorage(db, { logger: silentLogger(), now: () => new Date() });
    try {
      expect(storage.schemaVersion).toBe(2);
      const before = await storage.contextPage('bob', 0, undefined, 1000);
      expect(before.items.map((i) => (i.type === 'note' ? i.text : i.id))).toEqual([
        'core/a/early',
        'old note',
        'core/a/late',
      ]);
      expect(before).toMatchObject({ cursor: 3, hasMore: false });
      await storage.addNote({
        text: 'new note',
        agentId: null,
        extra: {},
        createdAt: '2026-01-01T00:00:00.000Z',
      });
      const after = await storage.contextPage('bob', before.cursor, undefined, 1000);
      expect(after.items.map((i) => (i.type === 'note' ? i.text : i.id))).toEqual(['new note']);
    } finally {
      await storage.close();
    }
  });
});
