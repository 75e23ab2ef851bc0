import type { Command } from 'commander';
import type { CreateOptions, DbOption } from './actions/hub-token.js';

const DB_HELP = 'SQLite file or postgres:// URL (default: <CoreRoot>/hub.sqlite)';

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
      (await import('./actions/hub-token.js')).create(raw, cmd),
    );

  token
    .command('list')
    .description('list tokens by id, agent and role (never the tokens themselves)')
    .option('--db <path|url>', DB_HELP)
    .option('--json', 'print one JSON document {tokens: [...]}')
    .action(async (raw: DbOption, cmd: Command) =>
      (await import('./actions/hub-token.js')).list(raw, cmd),
    );

  token
    .command('revoke [id]')
    .description('revoke one token by id, or every token of --agent; effective at once')
    .option('--agent <name>', 'revoke every token of this agent')
    .option('--db <path|url>', DB_HELP)
    .option('--json', 'print one JSON document {revoked: [...]}')
    .action(async (id: string | undefined, raw: DbOption & { agent?: string }, cmd: Command) =>
      (await import('./actions/hub-token.js')).revoke(id, raw, cmd),
    );

  token
    .command('rotate <id>')
    .description(
      'replace a token with a new one of the same agent and role; the old one stops at once',
    )
    .option('--db <path|url>', DB_HELP)
    .option('--json', 'print one JSON document {agent, admin, role, id, token, replaced}')
    .action(async (id: string, raw: DbOption, cmd: Command) =>
      (await import('./actions/hub-token.js')).rotate(id, raw, cmd),
    );
}
