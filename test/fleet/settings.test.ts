import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import type { FleetConfigView, SettingChange } from '../../src/fleet/index.js';
import { json } from '../helpers/cli.js';
import { waitUntil } from '../helpers/dispatch.js';
import {
  countingTask,
  isDone,
  makeNode,
  registry,
  sampleRunning,
  type TestNode,
  useFleet,
} from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

const FLEET = 'fleet:\n  heartbeat_seconds: 1\n  lease_seconds: 15\n';

describe.skipIf(!inject('postgresUrl'))(
  `fleet settings shared through PostgreSQL (${ISOLATION_LABEL})`,
  () => {
    const fleet = useFleet();

    /** Enqueues one shell task per issue number from node `via`; returns the workspace names. */
    async function enqueue(via: TestNode, issues: number[], task: () => string): Promise<string[]> {
      const ctx = via.context();
      try {
        const names: string[] = [];
        for (const issue of issues)
          names.push(
            (await enqueueDispatch(ctx, { repo: fleet.repo, agent: 'shell', task: task(), issue }))
              .workspace,
          );
        return names;
      } finally {
        await ctx.close();
      }
    }

    async function allDone(names: string[]): Promise<void> {
      await waitUntil(
        `${names.length} tasks to complete`,
        async () => {
          const reg = await registry(fleet.storeUrl);
          return names.every((n) => isDone(reg.get(n))) ? true : undefined;
        },
        180_000,
      );
    }

    async function runningCount(): Promise<number> {
      return [...(await registry(fleet.storeUrl)).values()].filter((r) => r.status === 'running')
        .length;
    }

    /** Node a (shell: 2) seeds the fleet settings, then node b (shell: 4) joins and is warned. */
    async function seededPair(): Promise<[TestNode, TestNode]> {
      const a = makeNode('a', fleet.storeUrl, `concurrency:\n  shell: 2\n${FLEET}`);
      const b = makeNode('b', fleet.storeUrl, `concurrency:\n  shell: 4\n${FLEET}`);
      fleet.nodes = [a, b];
      await a.start();
      expect(a.daemon?.stderr()).toContain('fleet settings seeded from this agents.yaml');
      await b.start();
      expect(b.daemon?.stderr()).toContain('concurrency.shell (fleet 2, agents.yaml 4)');
      expect(a.daemon?.stderr()).not.toContain('differs from the fleet settings');
      return [a, b];
    }

    /** Runs `count` short tasks (issues from `first`) to completion; returns the most running at once. */
    async function burst(
      via: TestNode,
      first: number,
      count: number,
    ): Promise<{ registry: number; agents: number; samples: number }> {
      const sampler = sampleRunning(fleet.storeUrl, fleet.out);
      const issues = Array.from({ length: count }, (_, i) => first + i);
      // A failed wait still closes the sampler's client.
      await allDone(
        await enqueue(via, issues, () => countingTask(fleet.out, { seconds: 0.3 })),
      ).catch(async (err: unknown) => {
        await sampler.stop();
        throw err;
      });
      return sampler.stop();
    }

    it('the first node seeds shell: 2 and a node whose agents.yaml says 4 is warned; the fleet never runs more than 2, then 3 once set on the other node, which counts with 3 without restart', async () => {
      const [a, b] = await seededPair();

      // Short tasks, more than either limit: node b on its own agents.yaml would run 4 at once.
      const peak = await burst(a, 1, 12);
      expect(peak.samples).toBeGreaterThan(10);
      expect(peak.registry).toBe(2);
      expect(peak.agents).toBeLessThanOrEqual(2);

      // Raised on b while both run: the fleet reaches 3 and never more.
      const set = await b.cli(['fleet', 'config', 'set', 'concurrency.shell', '3', '--json']);
      expect(set.code, set.stderr).toBe(0);
      expect(json<SettingChange>(set)).toEqual({
        version: 2,
        changed: [{ key: 'concurrency.shell', before: 2, after: 3 }],
      });
      const gate = join(fleet.out.dir, 'gate-raised');
      const sampler = sampleRunning(fleet.storeUrl, fleet.out);
      const second = await enqueue(
        a,
        Array.from({ length: 6 }, (_, i) => i + 101),
        () => countingTask(fleet.out, { gate }),
      );
      await waitUntil(
        '3 tasks running fleet-wide',
        async () => ((await runningCount()) === 3 ? true : undefined),
        30_000,
      );
      writeFileSync(gate, '');
      await allDone(second);
      const peak2 = await sampler.stop();
      expect(peak2.registry).toBe(3);
      expect(peak2.agents).toBeLessThanOrEqual(3);

      // Node a alone (its agents.yaml says 2, never restarted) runs 3 at once.
      await b.daemon?.stop('SIGTERM');
      b.daemon = undefined;
      const gate3 = join(fleet.out.dir, 'gate-a-alone');
      const third = await enqueue(a, [201, 202, 203], () =>
        countingTask(fleet.out, { gate: gate3 }),
      );
      await waitUntil(
        'node a to run 3 at once',
        async () => {
          const reg = await registry(fleet.storeUrl);
          return third.every((n) => reg.get(n)?.status === 'running' && reg.get(n)?.node === 'a')
            ? true
            : undefined;
        },
        30_000,
      );
      writeFileSync(gate3, '');
      await allDone(third);
    }, 300_000);

    it('a node whose agents.yaml says 4 runs at most what the fleet allows, alone, and follows a change made on another node without restart', async () => {
      const [a, b] = await seededPair();
      await a.daemon?.stop('SIGTERM');
      a.daemon = undefined;
      const peak = await burst(b, 1, 8);
      expect(peak.registry).toBe(2);
      expect(peak.agents).toBeLessThanOrEqual(2);

      const set = await a.cli(['fleet', 'config', 'set', 'concurrency.shell', '3']);
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toContain('concurrency.shell: 2 -> 3');
      const peak2 = await burst(b, 101, 10);
      expect(peak2.registry).toBe(3);
      expect(peak2.agents).toBeLessThanOrEqual(3);
    }, 300_000);

    it('fleet config shows the stored settings and how this agents.yaml differs; bad keys and values are refused and change nothing', async () => {
      const a = makeNode(
        'a',
        fleet.storeUrl,
        `dispatch:\n  default_concurrency: 3\nconcurrency:\n  shell: 2\n  claude: {total: 4, opus: 1}\nrates:\n  claude:\n    daily_limit: 50\n${FLEET}`,
      );
      const b = makeNode('b', fleet.storeUrl, `concurrency:\n  shell: 4\n${FLEET}`);
      fleet.nodes = [a, b];

      // Before any daemon seeded them, the node's own agents.yaml is shown as such.
      const unseeded = json<FleetConfigView>(await b.cli(['fleet', 'config', '--json']));
      expect(unseeded).toMatchObject({ engine: 'postgres', source: 'agents.yaml', version: null });

      await a.start();
      const view = json<FleetConfigView>(await b.cli(['fleet', 'config', '--json']));
      expect(view).toMatchObject({
        engine: 'postgres',
        source: 'fleet',
        version: 1,
        updated_by: 'a',
        settings: {
          default_concurrency: 3,
          failure_backoff: { count: 3, within_seconds: 60, pause_minutes: 30 },
          concurrency: { shell: 2, claude: { total: 4, opus: 1 } },
          rates: { claude: { daily_limit: 50, reset_utc: '00:00' } },
        },
      });
      expect(view.keys).toMatchObject({
        'dispatch.default_concurrency': 3,
        'concurrency.shell': 2,
        'concurrency.claude.total': 4,
        'concurrency.claude.opus': 1,
        'rates.claude.daily_limit': 50,
      });
      expect(view.differences).toEqual(
        expect.arrayContaining([
          { key: 'concurrency.shell', fleet: 2, local: 4 },
          { key: 'dispatch.default_concurrency', fleet: 3, local: 2 },
          { key: 'concurrency.claude.opus', fleet: 1 },
        ]),
      );
      const table = await b.cli(['fleet', 'config']);
      expect(table.stdout).toMatch(/version 1, last set by a/);
      expect(table.stdout).toMatch(/concurrency\.shell\s+2/);
      expect(table.stdout).toContain('concurrency.shell (fleet 2, agents.yaml 4)');

      // The same rules and messages as agents.yaml, naming the key and the value refused.
      const refused = [
        [
          ['concurrency.shell', '0'],
          ['fleet config: concurrency.shell:', '(got 0)'],
        ],
        [
          ['concurrency.shell', 'many'],
          ['concurrency.shell: expected a positive integer, or a map'],
        ],
        [
          ['concurrency.claude.opus', '-1'],
          ['fleet config: concurrency.claude', '-1'],
        ],
        [['rates.claude.reset_utc', '25:00'], ['rates.claude.reset_utc: expected HH:MM (UTC)']],
        [['rates.claude.daly_limit', '5'], ['did you mean "daily_limit"?']],
        [
          ['dispatch.failure_backoff.count', '1.5'],
          ['dispatch.failure_backoff.count:', '(got 1.5)'],
        ],
        [
          ['concurency.shell', '3'],
          ['"concurency.shell" is not a fleet setting (did you mean "concurrency"?)'],
        ],
        [['dispatch.timeout_minutes', '5'], ['is not a fleet setting; expected one of:']],
      ] as const;
      for (const [args, fragments] of refused) {
        const res = await b.cli(['fleet', 'config', 'set', ...args]);
        expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
        for (const fragment of fragments) expect(res.stderr).toContain(fragment);
      }
      const after = json<FleetConfigView>(await b.cli(['fleet', 'config', '--json']));
      expect(after.version).toBe(1);
      expect(after.settings).toEqual(view.settings);

      // A per-model limit on a pool given as a number turns it into a map; unset removes a key.
      const sub = await b.cli(['fleet', 'config', 'set', 'concurrency.shell.small', '1']);
      expect(sub.code, sub.stderr).toBe(0);
      expect(sub.stdout).toContain('concurrency.shell.small: unset -> 1');
      const unset = await b.cli(['fleet', 'config', 'unset', 'rates.claude']);
      expect(unset.code, unset.stderr).toBe(0);
      const last = json<FleetConfigView>(await a.cli(['fleet', 'config', '--json']));
      expect(last).toMatchObject({ version: 3, updated_by: 'b' });
      expect(last.differences).toContainEqual({ key: 'rates.claude.daily_limit', local: 50 });
      expect(last.settings.concurrency['shell']).toEqual({ total: 2, small: 1 });
      expect(last.settings.rates).toEqual({});
    }, 120_000);
  },
);
