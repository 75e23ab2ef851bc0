import type { Command } from 'commander';
import { STATUSES } from '../workspace/statuses.js';
import { oneOf, parseAge, positiveInt } from './options.js';
import type { Status } from '../workspace/statuses.js';

/** Registers `agentic workspace …`. */
export function registerWorkspace(program: Command): Command {
  const workspace = program.command('workspace').description('list, clean and measure workspaces');
  workspace
    .command('list')
    .description('list the workspaces under the workspace root')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      (await import('./actions/workspace.js')).list(_opts, cmd),
    );
  workspace
    .command('clean [which]')
    .description(
      'commit, then delete finished workspaces (completed, failed or all); never one holding undelivered commits, uncommitted changes, or a queued, running or blocked status unless --force',
    )
    .option(
      '--older-than <age>',
      'only those last updated longer ago than this, e.g. 7d, 12h, 30m',
      parseAge,
    )
    .option('--dry-run', 'list what would be removed and why each other one stays')
    .option(
      '--force',
      'also remove workspaces whose work was not delivered (never queued or running ones)',
    )
    .option('--json', 'print one JSON document')
    .action(
      async (
        which: string | undefined,
        opts: { olderThan?: number; dryRun?: boolean; force?: boolean },
        cmd: Command,
      ) => (await import('./actions/workspace.js')).clean(which, opts, cmd),
    );

  workspace
    .command('stats')
    .description('outcomes, agents and durations of committed dispatches, newest first')
    .option('--repo <repo>', 'only this repo (name or org/name)')
    .option('--status <status>', `only this outcome (${STATUSES.join(', ')})`, oneOf(STATUSES))
    .option('--limit <n>', 'at most this many rows (default 100)', positiveInt)
    .option('--json', 'print one JSON document')
    .action(async (opts: { repo?: string; status?: Status; limit?: number }, cmd: Command) =>
      (await import('./actions/workspace.js')).stats(opts, cmd),
    );
  return workspace;
}
