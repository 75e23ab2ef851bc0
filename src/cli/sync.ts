import type { Command } from 'commander';
import { createSyncService } from '../sync/index.js';
import { EXIT, runVerb, writeJson } from './common.js';

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
      runVerb(cmd, async (ctx, common) => {
        const report = await (await createSyncService(ctx)).push();
        if (common.json) writeJson(report);
        else {
          let line = `pushed ${report.count} records`;
          if (report.offline) line += ` (offline: ${report.offline})`;
          if (report.queued > 0)
            line += `; ${report.queued} entries queued${report.next_attempt ? `, next attempt ${report.next_attempt}` : ''}`;
          if (report.dropped > 0) line += `; ${report.dropped} entries dropped`;
          if (report.error) line += `; last error: ${report.error}`;
          process.stdout.write(`${line}\n`);
        }
        return report.success ? EXIT.ok : EXIT.failed;
      }),
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
      runVerb(cmd, async (ctx, common) => {
        const result = await (await createSyncService(ctx)).pull({ since: opts.since });
        if (common.json) writeJson(result);
        else {
          const from =
            result.source === 'hub'
              ? `${result.fetched} new from the hub`
              : `cache: ${result.error}`;
          process.stdout.write(`${result.count} context items (${from})\n`);
          if (result.warning !== undefined) process.stderr.write(`agentic: ${result.warning}\n`);
          if (!result.success)
            process.stderr.write(`agentic: sync pull failed: ${result.error ?? 'unknown'}\n`);
        }
        return result.success ? EXIT.ok : EXIT.failed;
      }),
    );

  sync
    .command('status')
    .description('show the sync queue, last push/pull and the hub view')
    .option('--json', 'print one JSON document')
    .action(async (_opts: object, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        const s = await (await createSyncService(ctx)).status();
        if (common.json) return writeJson(s);
        const lines = [
          `agent ${s.agent_id}: ${s.status}${s.offline_reason ? ` (${s.offline_reason})` : ''}${s.remote_error ? ` (${s.remote_error})` : ''}`,
          `queued ${s.queued} entries (${s.queued_records} records), dropped ${s.dropped}`,
          `last push ${s.last_push_at ?? '-'}, last pull ${s.last_pull_at ?? '-'}, context ${s.context_count} items`,
        ];
        if (s.next_attempt) lines.push(`next attempt ${s.next_attempt}`);
        if (s.last_error) lines.push(`last error: ${s.last_error}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );

  sync
    .command('retry-dropped')
    .description('move dropped entries back to the queue and try them again')
    .option('--json', 'print one JSON document')
    .action(async (_opts: object, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        const report = await (await createSyncService(ctx)).retryDropped();
        if (common.json) writeJson(report);
        else
          process.stdout.write(
            `requeued ${report.count} entries (${report.records} records); pushed ${report.pushed}\n`,
          );
        return report.success ? EXIT.ok : EXIT.failed;
      }),
    );
}
