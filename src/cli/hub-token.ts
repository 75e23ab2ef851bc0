import { join } from 'node:path';
import type { Command } from 'commander';
import type { AppContext } from '../context.js';
import type { HubStorage } from '../hub/index.js';
import { runVerb, usage, writeJson, writeTable } from './common.js';

interface DbOption {
  db?: string;
}

interface CreateOptions extends DbOption {
  agent?: string;
  admin?: boolean;
  viewer?: boolean;
}

const DB_HELP = 'SQLite file or postgres:// URL (default: <CoreRoot>/hub.sqlite)';

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
  const { openHubStorage } = await import('../hub/index.js');
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

/**
 * Registers `agentic hub token create|list|revoke|rotate` under `hub`. They work on the hub
 * database directly (the operator's admin right is access to it), and a running hub sees a
 * revoked or rotated token at its next request, since it looks every token up per request.
 */
export function registerHubToken(hub: Command): void {
  const token = hub.command('token').description('create, list, revoke and rotate hub tokens');

  token
    .command('create')
    .description(
      'create a token for one agent (--agent), a read-only fleet viewer (--viewer) or an operator (--admin)',
    )
    .option('--agent <name>', 'the agent id the token may push and pull as')
    .option('--admin', 'an operator token: any agent id, notes, dashboard')
    .option('--viewer', 'a read-only token for the fleet dashboard')
    .option('--db <path|url>', DB_HELP)
    .option('--json', 'print one JSON document {agent, admin, role, id, token}')
    .action(async (raw: CreateOptions, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        const kinds = [raw.agent !== undefined, raw.admin === true, raw.viewer === true];
        if (kinds.filter(Boolean).length !== 1)
          usage('agent', 'give exactly one of --agent <name>, --viewer or --admin');
        const { createToken } = await import('../hub/index.js');
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
      }),
    );

  token
    .command('list')
    .description('list tokens by id, agent and role (never the tokens themselves)')
    .option('--db <path|url>', DB_HELP)
    .option('--json', 'print one JSON document {tokens: [...]}')
    .action(async (raw: DbOption, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        const { listTokens } = await import('../hub/index.js');
        const tokens = await withHubStorage(ctx, raw.db, listTokens);
        if (common.json) return writeJson({ tokens });
        writeTable(
          ['ID', 'ROLE', 'AGENT', 'CREATED'],
          tokens.map((t) => [t.id, t.role, t.agent ?? '-', t.created_at]),
        );
      }),
    );

  token
    .command('revoke [id]')
    .description('revoke one token by id, or every token of --agent; effective at once')
    .option('--agent <name>', 'revoke every token of this agent')
    .option('--db <path|url>', DB_HELP)
    .option('--json', 'print one JSON document {revoked: [...]}')
    .action(async (id: string | undefined, raw: DbOption & { agent?: string }, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        if ((id === undefined) === (raw.agent === undefined))
          usage('id', 'give exactly one of a token id or --agent <name>');
        const { revokeTokens } = await import('../hub/index.js');
        const revoked = await withHubStorage(ctx, raw.db, (storage) =>
          revokeTokens(storage, { id, agent: raw.agent }),
        );
        if (common.json) return writeJson({ revoked });
        process.stdout.write(
          `revoked ${revoked.map((t) => `${t.id} (${t.role}${t.agent ? ` ${t.agent}` : ''})`).join(', ')}\n`,
        );
      }),
    );

  token
    .command('rotate <id>')
    .description(
      'replace a token with a new one of the same agent and role; the old one stops at once',
    )
    .option('--db <path|url>', DB_HELP)
    .option('--json', 'print one JSON document {agent, admin, role, id, token, replaced}')
    .action(async (id: string, raw: DbOption, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        const { rotateToken } = await import('../hub/index.js');
        const created = await withHubStorage(ctx, raw.db, (storage) =>
          rotateToken(storage, id, ctx.clock),
        );
        if (common.json) return writeJson(created);
        process.stderr.write(
          `agentic: token ${created.replaced} revoked; its replacement (id ${created.id}) is printed once, keep it now\n`,
        );
        process.stdout.write(`${created.token}\n`);
      }),
    );
}
