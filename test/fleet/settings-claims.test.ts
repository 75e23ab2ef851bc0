import { describe, expect, inject, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import {
  effectiveFile,
  joinFleetSettings,
  readFleetSettings,
  setFleetSetting,
} from '../../src/fleet/index.js';
import { tempRoot, testContext, type TempRoot } from '../helpers/context.js';
import { writeAgentsYaml } from '../helpers/dispatch.js';
import { freshPostgresDatabase } from '../helpers/engines.js';

/** A context on a fresh root with `yaml` as its agents.yaml, on the store at `storeUrl` (none: SQLite). */
function node(id: string, yaml: string, storeUrl?: string): { root: TempRoot; ctx: AppContext } {
  const root = tempRoot(`agentic-settings-${id}-`);
  writeAgentsYaml(root, yaml);
  const env = {
    CORE_AGENT_FLEET_NODE_ID: id,
    ...(storeUrl === undefined ? {} : { CORE_AGENT_STORE_URL: storeUrl }),
  };
  return { root, ctx: testContext(root, { env }) };
}

const A_YAML =
  'concurrency:\n  shell: 2\nrates:\n  shell:\n    daily_limit: 1\ndispatch:\n  failure_backoff:\n    count: 5\n';
const B_YAML = 'concurrency:\n  shell: 4\n';

describe('what claims and run ends count with', () => {
  it('on the embedded SQLite store: agents.yaml as it is, and no fleet settings are written', async () => {
    const { root, ctx } = node('solo', B_YAML);
    try {
      const store = await ctx.store();
      expect(await joinFleetSettings(ctx)).toBeUndefined();
      expect(await effectiveFile(ctx, store, store)).toBe(ctx.config.file);
      await expect(setFleetSetting(ctx, 'concurrency.shell', 3)).rejects.toThrow(
        /only in fleet mode .* edit agents\.yaml instead/,
      );
      expect(await readFleetSettings(store)).toBeUndefined();
    } finally {
      await ctx.close();
      root.cleanup();
    }
  });

  it.skipIf(!inject('postgresUrl'))(
    "in fleet mode: the fleet's limits, rates and back-off over each node's own, a change seen at the next read",
    async () => {
      const storeUrl = await freshPostgresDatabase();
      const a = node('a', A_YAML, storeUrl);
      const b = node('b', B_YAML, storeUrl);
      try {
        expect(await joinFleetSettings(a.ctx)).toMatchObject({ seeded: true, differences: [] });
        const check = await joinFleetSettings(b.ctx);
        expect(check?.seeded).toBe(false);
        expect(check?.differences).toEqual(
          expect.arrayContaining([
            { key: 'concurrency.shell', fleet: 2, local: 4 },
            { key: 'dispatch.failure_backoff.count', fleet: 5, local: 3 },
            { key: 'rates.shell.daily_limit', fleet: 1 },
          ]),
        );

        const store = await b.ctx.store();
        const seen = await store.transaction((tx) => effectiveFile(b.ctx, store, tx));
        expect(seen.concurrency).toEqual({ shell: 2 });
        expect(seen.rates['shell']?.daily_limit).toBe(1);
        expect(seen.dispatch.failure_backoff.count).toBe(5);
        // What only this node decides stays its own.
        expect(seen.dispatch.default_agent).toBe(b.ctx.config.file.dispatch.default_agent);
        // Unchanged settings are not parsed again: the same object comes back.
        expect(await store.transaction((tx) => effectiveFile(b.ctx, store, tx))).toBe(seen);

        await setFleetSetting(a.ctx, 'concurrency.shell', 3);
        await setFleetSetting(a.ctx, 'failure_backoff.count', 0);
        const next = await store.transaction((tx) => effectiveFile(b.ctx, store, tx));
        expect(next.concurrency).toEqual({ shell: 3 });
        expect(next.dispatch.failure_backoff.count).toBe(0);
        expect((await readFleetSettings(store))?.version).toBe(3);

        // A hand-edited row that no longer validates: logged, agents.yaml counts, and a set repairs it.
        const held = await readFleetSettings(store);
        await store.set('settings', 'fleet', { ...held, settings: { concurrency: { shell: 0 } } });
        await expect(readFleetSettings(store)).rejects.toThrow(/stored fleet settings/);
        const fallback = await store.transaction((tx) => effectiveFile(b.ctx, store, tx));
        expect(fallback).toBe(b.ctx.config.file);
        await setFleetSetting(b.ctx, 'concurrency.shell', 2);
        expect(await readFleetSettings(store)).toMatchObject({
          version: 4,
          settings: { concurrency: { shell: 2 } },
        });
      } finally {
        await a.ctx.close();
        await b.ctx.close();
        a.root.cleanup();
        b.root.cleanup();
      }
    },
    60_000,
  );
});
