import { join } from 'node:path';
import type { Command } from 'commander';
import type { AppContext } from '../../context.js';
import type { HubStorage } from '../../hub/index.js';
import { runVerb, usage, writeJson, writeTable } from './run-verb.js';

/** Runs `create`. */
export async function create(raw: CreateOptions, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const kinds = [raw.agent !== undefined, raw.admin === true, raw.viewer === true];
    if (kinds.filter(Boolean).length !== 1)
      usage('agent', 'give exactly one of --agent <name>, --viewer or --admin');
    const { createToken } = await import('../../hub/index.js');
    const created = await withHubStorage(ctx, raw.db, (storage) =>
      createToken(storage, raw.agent ?? null, ctx.clock, raw.viewer ? 'viewer' : 'admin'),
    );
    if (common.json) return writeJson(created);
    const what =
      created.role === 'agent'
        ? `a token for agent "${created.agent ?? ''}"`
        : `a ${created.role} token`;
    process.stderr.write(
      `agentic: created ${what} (id ${created.id}); only its hash is stored, so keep it now\n`,
    );
    process.stdout.write(`${created.token}\n`);
  });
}

/** Runs `list`. */
export async function list(raw: DbOption, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const { listTokens } = await import('../../hub/index.js');
    const tokens = await withHubStorage(ctx, raw.db, listTokens);
    if (common.json) return writeJson({ tokens });
    await writeTable(
      ['ID', 'ROLE', 'AGENT', 'CREATED'],
      tokens.map((t) => [t.id, t.role, t.agent ?? '-', t.created_at]),
    );
  });
}

/** Runs `revoke`. */
export async function revoke(
  id: string | undefined,
  raw: DbOption & { agent?: string },
  cmd: Command,
): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    if ((id === undefined) === (raw.agent === undefined))
      usage('id', 'give exactly one of a token id or --agent <name>');
    const { revokeTokens } = await import('../../hub/index.js');
    const revoked = await withHubStorage(ctx, raw.db, (storage) =>
      revokeTokens(storage, { id, agent: raw.agent }),
    );
    if (common.json) return writeJson({ revoked });
    process.stdout.write(
      `revoked ${revoked.map((t) => `${t.id} (${t.role}${t.agent ? ` ${t.agent}` : ''})`).join(', ')}\n`,
    );
  });
}

/** Runs `rotate`. */
export async function rotate(id: string, raw: DbOption, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const { rotateToken } = await import('../../hub/index.js');
    const created = await withHubStorage(ctx, raw.db, (storage) =>
      rotateToken(storage, id, ctx.clock),
    );
    if (common.json) return writeJson(created);
    process.stderr.write(
      `agentic: token ${created.replaced} revoked; its replacement (id ${created.id}) is printed once, keep it now\n`,
    );
    process.stdout.write(`${created.token}\n`);
  });
}

export interface DbOption {
  db?: string;
}

export interface CreateOptions extends DbOption {
  agent?: string;
  admin?: boolean;
  viewer?: boolean;
}

/** The hub database a verb uses: `--db`, else `<CoreRoot>/hub.sqlite`. */
export function hubDb(ctx: AppContext, db: string | undefined): string {
  return db ?? join(ctx.config.coreRoot, 'hub.sqlite');
}

/** Opens the hub database for one token verb and closes it after `body`. */
async function withHubStorage<T>(
  ctx: AppContext,
  db: string | undefined,
  body: (storage: HubStorage) => Promise<T>,
): Promise<T> {
  const { openHubStorage } = await import('../../hub/index.js');
  const storage = await openHubStorage(hubDb(ctx, db), {
    logger: ctx.logger,
    now: () => ctx.clock.now(),
  });
  try {
    return await body(storage);
  } finally {
    await storage.close();
  }
}
