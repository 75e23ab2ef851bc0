#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { VERSION } from '../lib/version.js';
import { cliState, EXIT } from './options.js';
import { registerCommit, registerControl } from './control.js';
import { registerDispatch } from './dispatch.js';
import { registerDoctor } from './doctor.js';
import { registerFleet } from './fleet.js';
import { registerRunner } from './runner.js';
import { registerHub } from './hub.js';
import { registerLogs } from './logs.js';
import { registerMcp } from './mcp.js';
import { registerReview } from './review.js';
import { registerStatus } from './status.js';
import { registerSync } from './sync.js';
import { registerWorkspace } from './workspace.js';

/** Builds the `agentic` command tree. */
export function buildProgram(): Command {
  const program = new Command('agentic')
    .description('A durable dispatcher for AI coding agents')
    .version(VERSION, '-V, --version')
    .option(
      '--config <path>',
      'agents.yaml to use (default: $CORE_AGENT_CONFIG, then <CoreRoot>/agents.yaml)',
    )
    .option(
      '--log-level <level>',
      'fatal, error, warn, info, debug, trace or silent (default: info)',
    )
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerDispatch(program);
  registerControl(program);
  registerLogs(program);
  registerCommit(program);
  registerStatus(program);
  registerReview(program);
  registerRunner(program);
  registerWorkspace(program);
  registerDoctor(program);
  registerSync(program);
  registerHub(program);
  registerMcp(program);
  registerFleet(program);
  return program;
}

/** Runs the CLI and returns its exit code: 0 ok, 1 failed, 2 usage or bad input. */
export async function main(argv: string[]): Promise<number> {
  cliState.exitCode = EXIT.ok;
  try {
    await buildProgram().parseAsync(argv);
    return cliState.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      const shown = ['commander.helpDisplayed', 'commander.version', 'commander.help'];
      return shown.includes(err.code) || err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw err;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  // A reader that went away (`agentic status | head -1`) is not an error: stop quietly.
  const quitOnClosedPipe = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(cliState.exitCode);
  };
  process.stdout.on('error', quitOnClosedPipe);
  process.stderr.on('error', quitOnClosedPipe);
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `agentic: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = EXIT.failed;
    },
  );
}
