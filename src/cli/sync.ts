import type { Command } from 'commander';

/** Registers `agentic sync push|pull|status|retry-dropped` (README: Sync). */
export function registerSync(program: Command): void {
  const sync = program
    .command('sync')
    .description('push dispatch history to the fleet hub, pull context, show sync status');

  sync
    .command('push')
    .description('queue unsynced dispatch records and send every queued entry now')
    .option('--json', 'print one JSON document')
    .action(async (_opts: object, cmd: Command) =>
      (await import('./actions/sync.js')).push(_opts, cmd),
    );

  sync
    .command('pull')
    .description('fetch context from the hub into the local cache (the cache is served offline)')
    .option(
      '--since <time>',
      'only items the hub received after this RFC 3339 time (default: all after the last pull)',
    )
    .option('--json', 'print one JSON document')
    .action(async (opts: { since?: string }, cmd: Command) =>
      (await import('./actions/sync.js')).pull(opts, cmd),
    );

  sync
    .command('status')
    .description('show the sync queue, last push/pull and the hub view')
    .option('--json', 'print one JSON document')
    .action(async (_opts: object, cmd: Command) =>
      (await import('./actions/sync.js')).status(_opts, cmd),
    );

  sync
    .command('retry-dropped')
    .description('move dropped entries back to the queue and try them again')
    .option('--json', 'print one JSON document')
    .action(async (_opts: object, cmd: Command) =>
      (await import('./actions/sync.js')).retryDropped(_opts, cmd),
    );
}
