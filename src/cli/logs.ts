import type { Command } from 'commander';

/** Registers `agentic logs`. */
export function registerLogs(program: Command): void {
  program
    .command('logs <workspace>')
    .description("print the agent's output as a transcript (--raw: exactly as the CLI wrote it)")
    .option('--follow', 'keep printing until the workspace finishes')
    .option('--raw', "the log as written: the CLI's JSON events, colour and all")
    .option('--json', 'print one JSON document {workspace, status, agent, path, output}')
    .action(async (name: string, opts: { follow?: boolean; raw?: boolean }, cmd: Command) =>
      (await import('./actions/logs.js')).logs(name, opts, cmd),
    );
}
