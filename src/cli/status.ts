import type { Command } from 'commander';
import { STATUSES } from '../workspace/statuses.js';
import { oneOf, positiveInt } from './options.js';
import type { Status } from '../workspace/statuses.js';

/** Registers `agentic status`. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show every workspace and its status')
    .option('--workspace <name>', 'only this workspace (org/repo/leaf)')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`, oneOf(STATUSES))
    .option('--limit <n>', 'at most this many rows', positiveInt)
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace?: string; status?: Status; limit?: number }, cmd: Command) =>
      (await import('./actions/status.js')).status(opts, cmd),
    );
}
