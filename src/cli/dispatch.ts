import type { Command } from 'commander';
import { DELIVER_MODES } from '../config/constants.js';
import { integer, oneOf, positiveInt } from './options.js';
import type { DispatchOpts } from './actions/dispatch.js';

/** Registers `agentic dispatch`. */
export function registerDispatch(program: Command): void {
  program
    .command('dispatch')
    .description(
      'queue a task for an agent in a fresh workspace (a clone of --repo on its own branch)',
    )
    .requiredOption('--repo <path|url>', 'local git repository or git URL')
    .option('--task <text>', 'what the agent should do')
    .option(
      '--task-file <path>',
      'read the task from a file, "-" for stdin (for tasks too long for a command line)',
    )
    .option('--agent <agent>', 'base[:model], e.g. codex:gpt-5.4 (default: dispatch.default_agent)')
    .option(
      '--org <org>',
      'organisation segment of the workspace name (default: dispatch.default_org)',
    )
    .option('--name <repo>', 'repository segment of the workspace name (default: from --repo)')
    .option('--issue <n>', 'issue number: workspace leaf task-<n>', positiveInt)
    .option('--pr <n>', 'pull request number: workspace leaf pr-<n>', positiveInt)
    .option(
      '--branch <branch>',
      'working branch (default: agent/<task slug>); also the leaf when no --issue/--pr',
    )
    .option('--priority <p>', 'higher runs first (default 0)', integer)
    .option(
      '--base <ref>',
      "branch or commit the agent starts from (default: the source's current branch)",
    )
    .option(
      '--deliver <mode>',
      `hand-back when done: ${DELIVER_MODES.join(' or ')} (default: deliver.mode in agents.yaml, else none)`,
      oneOf(DELIVER_MODES),
    )
    .option(
      '--node <id>',
      'fleet mode: the node that must run it (default: this node for a local path, any node for a URL)',
    )
    .option('--wait', 'wait for the end, showing progress on stderr; exit 0 only if completed')
    .option('--json', 'print one JSON document')
    .action(async (opts: DispatchOpts, cmd: Command) =>
      (await import('./actions/dispatch.js')).dispatch(opts, cmd),
    );
}
