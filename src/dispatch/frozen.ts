import { rmSync } from 'node:fs';
import { runtimePaths } from '../config/index.js';
import type { AppContext } from '../context.js';
import { isoUtc } from '../lib/clock.js';
import { writeFileAtomic } from '../lib/fs.js';
import { GROUPS, type StoreOps } from '../store/index.js';

function frozenFile(coreRoot: string): string {
  return runtimePaths(coreRoot).frozen;
}

/** Whether `agentic stop` froze dispatching (the `runner` group; in degraded mode the runtime/frozen file). */
export async function isFrozen(ops: StoreOps): Promise<boolean> {
  return (await ops.get(GROUPS.runner, 'frozen')) === true;
}

/** Persists the frozen flag in the store and its file mirror. */
export async function setFrozen(ctx: AppContext, frozen: boolean): Promise<void> {
  const store = await ctx.store();
  await store.transaction(async (tx) => {
    // Read first, which locks the flag (or, while it is absent, its key): a claim in flight
    // holds it shared, so the change waits for it and no claim commits after this returns.
    await tx.get(GROUPS.runner, 'frozen');
    if (frozen) await tx.set(GROUPS.runner, 'frozen', true);
    else await tx.delete(GROUPS.runner, 'frozen');
  });
  // The file engine keeps the frozen file itself; for the others it is a mirror.
  if (store.ownsStateFiles) return;
  if (frozen) writeFileAtomic(frozenFile(ctx.config.coreRoot), `${isoUtc(ctx.clock.now())}\n`);
  else rmSync(frozenFile(ctx.config.coreRoot), { force: true });
}
