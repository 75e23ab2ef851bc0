#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command as CommandType } from 'commander';
import { VERSION } from '../lib/version.js';
import { cliState, commander, EXIT } from './options.js';
const { Command, CommanderError } = commander;

/** Registers some top-level verbs on the program. */
type Register = (program: CommandType) => void;

/**
 * The command declarations, in help order, each with the top-level verbs it registers: a run
 * loads only the module of the verb it names (start-up time), all of them for help, an unknown
 * verb or none. test/cli/declarations.test.ts holds the verb lists true.
 */
export const DECLARATIONS: ReadonlyArray<{
  verbs: readonly string[];
  load: () => Promise<Register>;
}> = [
  { verbs: ['dispatch'], load: async () => (await import('./dispatch.js')).registerDispatch },
  { verbs: ['resume', 'cancel'], load: async () => (await import('./control.js')).registerControl },
  { verbs: ['logs'], load: async () => (await import('./logs.js')).registerLogs },
  { verbs: ['commit'], load: async () => (await import('./control.js')).registerCommit },
  { verbs: ['status'], load: async () => (await import('./status.js')).registerStatus },
  {
    verbs: ['review', 'diff', 'accept', 'pr', 'reject'],
    load: async () => (await import('./review.js')).registerReview,
  },
  {
    verbs: ['daemon', 'stop', 'start', 'kill', 'watch'],
    load: async () => (await import('./runner.js')).registerRunner,
  },
  { verbs: ['workspace'], load: async () => (await import('./workspace.js')).registerWorkspace },
  { verbs: ['doctor'], load: async () => (await import('./doctor.js')).registerDoctor },
  { verbs: ['sync'], load: async () => (await import('./sync.js')).registerSync },
  { verbs: ['hub'], load: async () => (await import('./hub.js')).registerHub },
  { verbs: ['mcp'], load: async () => (await import('./mcp.js')).registerMcp },
  { verbs: ['fleet'], load: async () => (await import('./fleet.js')).registerFleet },
];

/**
 * The declarations a run of `argv` needs: those of the top-level verb it names (global options
 * and their values skipped), none for `--version` alone, all for anything else (help, an
 * unknown verb and its did-you-mean).
 */
export function declarationsFor(argv: readonly string[]): typeof DECLARATIONS {
  let verb: string | undefined;
  for (let i = 2; i < argv.length && verb === undefined; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--config' || arg === '--log-level') i++;
    else if (!arg.startsWith('-')) verb = arg;
  }
  if (verb === undefined && argv.some((a) => a === '-V' || a === '--version')) return [];
  const named = DECLARATIONS.filter((d) => verb !== undefined && d.verbs.includes(verb));
  return named.length > 0 ? named : DECLARATIONS;
}

/** Builds the `agentic` command tree with the given declarations (default: all). */
export async function buildProgram(
  declarations: typeof DECLARATIONS = DECLARATIONS,
): Promise<CommandType> {
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
  for (const d of declarations) (await d.load())(program);
  return program;
}

/** Runs the CLI and returns its exit code: 0 ok, 1 failed, 2 usage or bad input. */
export async function main(argv: string[]): Promise<number> {
  cliState.exitCode = EXIT.ok;
  try {
    await (await buildProgram(declarationsFor(argv))).parseAsync(argv);
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
