import type { Command } from 'commander';

/** Registers `fleet nodes`. */
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
}
