import type { Command } from 'commander';
import type { AcceptOptions } from './actions/review.js';

/** Registers the review loop: review, diff, accept, pr and reject. */
export function registerReview(program: Command): void {
  program
    .command('review')
    .description('what waits for you: finished work not yet delivered, and blocked questions')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      (await import('./actions/review.js')).review(_opts, cmd),
    );

  program
    .command('diff <workspace>')
    .description("the agent's change against the commit it started from")
    .option('--stat', 'only the files and line counts')
    .option('--json', 'print one JSON document')
    .action(async (name: string, opts: { stat?: boolean }, cmd: Command) =>
      (await import('./actions/review.js')).diff(name, opts, cmd),
    );

  program
    .command('accept <workspace>')
    .description(
      'deliver the work as a branch of the same name into the source repository; --merge also merges it into its base branch when safe',
    )
    .option(
      '--merge',
      'merge into the base branch (fast-forward, or a merge commit when deliver.merge_commit allows)',
    )
    .option(
      '--pr',
      "deliver as a pull request against the base branch on the source's forge instead, whatever deliver.mode says (again: updates the same pull request)",
    )
    .option(
      '--merge-pr',
      'open or update the pull request, wait for its checks and merge it when they pass (as deliver.mode: merge does)',
    )
    .option('--json', 'print one JSON document')
    .action(async (name: string, opts: AcceptOptions, cmd: Command) =>
      (await import('./actions/review.js')).accept(name, opts, cmd),
    );

  program
    .command('pr <workspace>')
    .description("the workspace's pull request: its state and the checks on its head commit")
    .option('--json', 'print one JSON document')
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      (await import('./actions/review.js')).pr(name, _opts, cmd),
    );

  program
    .command('reject <workspace>')
    .description('end a finished or blocked workspace cancelled; the work stays until cleaned')
    .option('--reason <text>', 'why (kept as its question and in the journal)')
    .option('--json', 'print one JSON document')
    .action(async (name: string, opts: { reason?: string }, cmd: Command) =>
      (await import('./actions/review.js')).reject(name, opts, cmd),
    );
}
