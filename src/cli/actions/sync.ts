import type { Command } from 'commander';
import { createSyncService } from '../../sync/index.js';
import { EXIT, runVerb, writeJson } from './run-verb.js';

/** Runs `push`. */
export async function push(_opts: object, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
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
  });
}

/** Runs `pull`. */
export async function pull(opts: { since?: string }, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const result = await (await createSyncService(ctx)).pull({ since: opts.since });
    if (common.json) writeJson(result);
    else {
      const from =
        result.source === 'hub' ? `${result.fetched} new from the hub` : `cache: ${result.error}`;
      process.stdout.write(`${result.count} context items (${from})\n`);
      if (result.warning !== undefined) process.stderr.write(`agentic: ${result.warning}\n`);
      if (!result.success)
        process.stderr.write(`agentic: sync pull failed: ${result.error ?? 'unknown'}\n`);
    }
    return result.success ? EXIT.ok : EXIT.failed;
  });
}

/** Runs `status`. */
export async function status(_opts: object, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
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
  });
}

/** Runs `retry-dropped`. */
export async function retryDropped(_opts: object, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const report = await (await createSyncService(ctx)).retryDropped();
    if (common.json) writeJson(report);
    else
      process.stdout.write(
        `requeued ${report.count} entries (${report.records} records); pushed ${report.pushed}\n`,
      );
    return report.success ? EXIT.ok : EXIT.failed;
  });
}
