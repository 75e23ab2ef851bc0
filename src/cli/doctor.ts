import type { Command } from 'commander';

/** Registers `agentic doctor`. */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show where agentic keeps its state and whether the store is healthy')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      (await import('./actions/doctor.js')).doctor(_opts, cmd),
    );
}
