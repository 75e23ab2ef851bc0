import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { claimReady } from '../../src/dispatch/claim.js';
import { endRuns } from '../../src/dispatch/finish.js';
import { setFrozen } from '../../src/dispatch/frozen.js';
import { readRecord, trackInTransaction, trackWorkspace } from '../../src/lifecycle/index.js';
import { GROUPS } from '../../src/store/index.js';
import type { StatusRecord } from '../../src/workspace/index.js';
import { freshPostgresDatabase } from '../helpers/engines.js';
import { makeNode, type TestNode } from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

// The fleet's claim and run end as one server-side call each (migration 004), driven through
// claimReady and endRuns by several nodes' contexts at once: no agent, clone or daemon.

const LIMITS = 'concurrency:\n  a: 2\n  b:\n    total: 3\n    x: 1\n';

function queued(agent: string, extra: Partial<StatusRecord> = {}): StatusRecord {
  return {
    status: 'queued',
    agent,
    repo: 'r',
    org: 'o',
    task: 'true',
    branch: 'agent/t',
    runs: 0,
    priority: 0,
    updated_at: '',
    queued_at: new Date().toISOString(),
    source: 'file:///r.git',
    ...extra,
  } as StatusRecord;
}

async function enqueue(ctx: AppContext, records: Array<[string, StatusRecord]>): Promise<void> {
  await trackInTransaction(ctx, async (track) => {
    for (const [name, record] of records) await track(name, record);
  });
}

const exited = { kind: 'exited', exitCode: 0, signal: null, endedAt: new Date() } as const;

describe.skipIf(!inject('postgresUrl'))(
  `one-call claims and run ends (fleet) (${ISOLATION_LABEL})`,
  () => {
    let nodes: TestNode[] = [];
    const contexts: AppContext[] = [];

    afterEach(async () => {
      for (const c of contexts) await c.close();
      contexts.length = 0;
      for (const n of nodes) n.root.cleanup();
      nodes = [];
    });

    async function fleet(
      ids: string[],
      yaml = LIMITS,
    ): Promise<{ url: string; ctx: AppContext[] }> {
      const url = await freshPostgresDatabase();
      nodes = ids.map((id) => makeNode(id, url, yaml));
      for (const n of nodes) contexts.push(n.context());
      return { url, ctx: [...contexts] };
    }

    it('holds pool and model limits fleet-wide and claims each task once, with nine workers on three nodes', async () => {
      const { url, ctx } = await fleet(['n1', 'n2', 'n3']);
      const agents = ['a', 'b:x', 'b:y'];
      const names = Array.from({ length: 45 }, (_, i) => `o/r/t-${i}`);
      await enqueue(
        ctx[0] as AppContext,
        names.map((name, i) => [name, queued(agents[i % 3] as string)]),
      );
      const sampler = new pg.Client({ connectionString: url });
      await sampler.connect();
      let stop = false;
      const most = new Map<string, number>();
      const sampling = (async () => {
        while (!stop) {
          const res = await sampler.query<{ agent: string; n: number }>(
            "SELECT value->>'agent' AS agent, COUNT(*)::int AS n FROM kv WHERE grp = 'registry' AND value->>'status' = 'running' GROUP BY 1",
          );
          const pool = (agent: string): string => agent.split(':')[0] as string;
          const counts = new Map<string, number>();
          for (const { agent, n } of res.rows) {
            counts.set(agent, (counts.get(agent) ?? 0) + n);
            counts.set(`pool ${pool(agent)}`, (counts.get(`pool ${pool(agent)}`) ?? 0) + n);
          }
          for (const [k, n] of counts) most.set(k, Math.max(most.get(k) ?? 0, n));
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      const claimed: string[] = [];
      let ended = 0;
      await Promise.all(
        Array.from({ length: 9 }, async (_, w) => {
          const c = ctx[w % 3] as AppContext;
          while (ended < names.length) {
            const { claims } = await claimReady(c, 2, c.config.nodeId);
            if (claims.length === 0) {
              await new Promise((r) => setTimeout(r, 5));
              continue;
            }
            claimed.push(...claims.map((x) => x.name));
            // Held a moment, so claims on the other nodes meet full pools.
            await new Promise((r) => setTimeout(r, 100));
            const items = claims.map(({ name, record }) => ({
              name,
              ref: { runs: record.runs, pid: undefined },
              end: exited,
            }));
            const { result, durable } = await endRuns(c, items);
            await durable;
            ended += result.size;
          }
        }),
      );
      stop = true;
      await sampling;
      await sampler.end();
      expect(new Set(claimed).size).toBe(names.length);
      expect(claimed).toHaveLength(names.length);
      expect(most.get('pool a')).toBeLessThanOrEqual(2);
      expect(most.get('pool b')).toBeLessThanOrEqual(3);
      expect(most.get('b:x')).toBeLessThanOrEqual(1);
      // The limits were reached, not merely respected by starving the pools.
      expect(most.get('pool a')).toBe(2);
      const store = await (ctx[0] as AppContext).store();
      for (const name of names)
        expect((await readRecord(ctx[0] as AppContext, name))?.status).toBe('completed');
      expect(await store.count(GROUPS.running)).toBe(0);
      expect(await store.count(GROUPS.queue)).toBe(0);
      for (const pool of ['a', 'b'])
        expect(await store.get(GROUPS.concurrency, pool)).toMatchObject({ running: 0, models: {} });
    }, 120_000);

    it('claims nothing while frozen, on any node, and again once started', async () => {
      const { ctx } = await fleet(['n1', 'n2']);
      const [one, two] = ctx as [AppContext, AppContext];
      await enqueue(one, [['o/r/f-1', queued('a')]]);
      await setFrozen(one, true);
      const frozen = await claimReady(two, 5, 'n2');
      expect(frozen).toMatchObject({ frozen: true, claims: [] });
      await setFrozen(one, false);
      const batch = await claimReady(two, 5, 'n2');
      expect(batch.claims.map((c) => [c.name, c.record.node, c.record.status])).toEqual([
        ['o/r/f-1', 'n2', 'running'],
      ]);
    }, 60_000);

    it('leaves work pinned to another node and pools in back-off, and says when to look again', async () => {
      const { ctx } = await fleet(['n1', 'n2']);
      const [one, two] = ctx as [AppContext, AppContext];
      await enqueue(one, [
        ['o/r/p-1', queued('a', { node_affinity: 'n1' })],
        ['o/r/p-2', queued('b:y')],
      ]);
      const until = new Date(Date.now() + 3_600_000).toISOString();
      const store = await one.store();
      await store.set(GROUPS.runtime, 'backoff', { b: until });
      const batch = await claimReady(two, 5, 'n2');
      expect(batch.claims).toEqual([]);
      expect(batch.retryAt?.toISOString()).toBe(until);
      const mine = await claimReady(one, 5, 'n1');
      expect(mine.claims.map((c) => c.name)).toEqual(['o/r/p-1']);
    }, 60_000);

    it('claims a rate-limited pool through the locking claim, its daily cap exact across nodes', async () => {
      const yaml = `${LIMITS}  r: 4\nrates:\n  r:\n    daily_limit: 2\n`;
      const { ctx } = await fleet(['n1', 'n2'], yaml);
      const [one, two] = ctx as [AppContext, AppContext];
      await enqueue(one, [
        ...Array.from({ length: 4 }, (_, i): [string, StatusRecord] => [`o/r/r-${i}`, queued('r')]),
        ['o/r/a-1', queued('a')],
      ]);
      const batches = await Promise.all([claimReady(one, 5, 'n1'), claimReady(two, 5, 'n2')]);
      const claimed = batches.flatMap((b) => b.claims.map((c) => c.name)).sort();
      expect(claimed.filter((n) => n.startsWith('o/r/r-'))).toHaveLength(2);
      expect(claimed).toContain('o/r/a-1');
      const again = await claimReady(two, 5, 'n2');
      expect(again.claims).toEqual([]);
      // The cap is the day's: the next claim is due at the window's reset.
      expect(again.retryAt).toBeDefined();
    }, 60_000);

    it('never writes a run end over a cancel recorded after it read the record', async () => {
      const { ctx } = await fleet(['n1', 'n2']);
      const [one, two] = ctx as [AppContext, AppContext];
      await enqueue(one, [['o/r/c-1', queued('a')]]);
      const [claim] = (await claimReady(one, 1, 'n1')).claims;
      expect(claim).toBeDefined();
      if (claim === undefined) return;
      // The end below reads the record, then another node records a cancel, then the end writes:
      // the one-call write must miss and the end be decided again on the cancelled record.
      const store = await one.store();
      const read = store.oneCall?.read.bind(store.oneCall);
      expect(read).toBeDefined();
      if (store.oneCall === undefined || read === undefined) return;
      let cancelled = false;
      store.oneCall.read = async (keys) => {
        const values = await read(keys);
        if (!cancelled && keys.some(([g, k]) => g === GROUPS.registry && k === 'o/r/c-1')) {
          cancelled = true;
          const current = await readRecord(two, 'o/r/c-1');
          await trackWorkspace(two, 'o/r/c-1', {
            ...(current as StatusRecord),
            kill_reason: 'cancel',
          });
        }
        return values;
      };
      const { result } = await endRuns(one, [
        { name: 'o/r/c-1', ref: { runs: claim.record.runs, pid: undefined }, end: exited },
      ]);
      expect(cancelled).toBe(true);
      expect(result.get('o/r/c-1')?.status).toBe('cancelled');
      expect((await readRecord(two, 'o/r/c-1'))?.status).toBe('cancelled');
      expect(await store.get(GROUPS.concurrency, 'a')).toMatchObject({ running: 0 });
    }, 60_000);
  },
);
