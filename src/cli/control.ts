import type { Command } from 'commander';

/** Registers resume and cancel. */
export function registerControl(program: Command): void {
  program
    .command('resume <workspace>')
    .description('queue a blocked, failed or finished workspace again')
    .option('--answer <text>', 'answer to the agent’s question (written to repo/ANSWER.md)')
    .option('--agent <agent>', 'switch to another agent')
    .option('--json', 'print one JSON document')
    .action(async (name: string, opts: { answer?: string; agent?: string }, cmd: Command) =>
      (await import('./actions/control.js')).resume(name, opts, cmd),
    );

  program
    .command('cancel <workspace>')
    .description('cancel a queued, running or blocked workspace')
    .option('--json', 'print one JSON document')
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      (await import('./actions/control.js')).cancel(name, _opts, cmd),
    );
}

/** Registers `agentic commit` (after `logs`, where the help has always listed it). */
export function registerCommit(program: Command): void {
  program
    .command('commit <workspace>')
    .description("append the workspace's final record to its journal (idempotent)")
    .option('--json', 'print one JSON document')
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      (await import('./actions/control.js')).commit(name, _opts, cmd),
    );
}
