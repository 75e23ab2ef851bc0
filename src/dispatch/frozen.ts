import { existsSync, rmSync } from 'node:fs';
import { runtimePaths } from '../config/index.js';
import type { AppContext } from '../context.js';
import { isoUtc } from '../lib/clock.js';
import { writeFileAtomic } from '../lib/fs.js';
import { GROUPS, type StateStore, type StoreOps } from '../store/index.js';

function frozenFile(coreRoot: string): string {
  return runtimePaths(coreRoot).frozen;
}

/** Whether `agentic stop` froze dispatching: the `runner` group when the store is healthy, else the `runtime/frozen` file. */
export async function isFrozen(
  ctx: AppContext,
  ops: StoreOps,
  store: StateStore,
): Promise<boolean> {
  if (store.degraded) return existsSync(frozenFile(ctx.config.coreRoot));
  return (await ops.get(GROUPS.runner, 'frozen')) === true;
}

/** Persists the frozen flag in the store and its file mirror. */
export async function setFrozen(ctx: AppContext, frozen: boolean): Promise<void> {
  const store = await ctx.store();
  await store.transaction(async (tx) => {
    if (frozen) await tx.set(GROUPS.runner, 'frozen', true);
    else await tx.delete(GROUPS.runner, 'frozen');
  });
  if (frozen)
    writeFileAtomic(frozenFile(ctx.config.coreRoot), `${isoUtc(ctx.clock.now())}\n`, {
      fsync: store.degraded,
    });
  else rmSync(frozenFile(ctx.config.coreRoot), { force: true });
}
