import type { Command } from 'commander';

/** Registers `fleet nodes` and `fleet config [show|set|unset]`. */
export function registerFleet(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('the nodes sharing this store (fleet mode: one PostgreSQL URL)');
  fleet
    .command('nodes')
    .description('list registered nodes, their lease (live, expired, lost) and running counts')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      (await import('./actions/fleet.js')).nodes(_opts, cmd),
    );
  const config = fleet
    .command('config')
    .description(
      'the settings every node shares in fleet mode: concurrency limits, rates, failure back-off',
    );
  config
    .command('show', { isDefault: true })
    .description("show them, and where this node's agents.yaml differs")
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      (await import('./actions/fleet.js')).showConfig(_opts, cmd),
    );
  config
    .command('set <key> <value>')
    .description(
      'change one for every node, no restart (e.g. concurrency.shell 3, rates.claude.daily_limit 50)',
    )
    .option('--json', 'print one JSON document')
    .action(async (key: string, value: string, _opts: unknown, cmd: Command) =>
      (await import('./actions/fleet.js')).setConfig(key, value, cmd),
    );
  config
    .command('unset <key>')
    .description('remove one (its default applies again), for every node')
    .option('--json', 'print one JSON document')
    .action(async (key: string, _opts: unknown, cmd: Command) =>
      (await import('./actions/fleet.js')).setConfig(key, undefined, cmd),
    );
}
