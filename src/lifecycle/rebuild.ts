import { join } from 'node:path';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { readTextIfExists } from '../lib/fs.js';
import { GROUPS, type StateStore, isFleet } from '../store/index.js';
import {
  fingerprintOf,
  isTerminal,
  STATUSES,
  workspaceDir,
  type StatusRecord,
} from '../workspace/index.js';
import { scanDiskRecords } from './records.js';
import { statsRowOf } from './stats.js';
import { restoreRecords } from './track.js';

/** The fields of a journal line a rebuild reads; the rest is kept as written. */
const journalLineSchema = z.looseObject({
  workspace: z.string(),
  repo: z.string(),
  org: z.string(),
  agent: z.string(),
  status: z.enum(STATUSES),
  question: z.string().optional(),
  runs: z.number().int(),
  started_at: z.string().optional(),
  updated_at: z.string(),
  committed_at: z.string(),
});
type JournalLine = z.infer<typeof journalLineSchema>;

/** What a rebuild restored. */
export interface RebuildReport {
  workspaces: number;
  /** Journal lines turned back into stats rows. */
  versions: number;
  /** Stale non-terminal mirrors whose run the journal already holds, restored from the journal. */
  journaled: number;
}

/**
 * Refills the store after a damaged database was replaced, from what lives outside it: the
 * registry from the status.json files, `dispatch_history` (last line per workspace), the
 * versions waiting for the hub (every earlier line) and stats (every line) from each
 * `.meta/journal.jsonl` (the sync queue is sync's part, see compose.ts). A mirror still `running` (or `queued`) for a run the journal already ended (same `runs`) takes
 * the journal's end, so the run is not finished a second time with a new fingerprint.
 */
export async function rebuildRegistryFromDisk(
  ctx: AppContext,
  store: StateStore,
): Promise<RebuildReport> {
  const records = scanDiskRecords(ctx);
  const journals = new Map<string, JournalLine[]>();
  let journaled = 0;
  for (const [name, record] of records) {
    const lines = readJournal(join(workspaceDir(ctx.config.workspaceRoot, name), '.meta'));
    journals.set(name, lines);
    const last = lines.at(-1);
    if (
      !isTerminal(record.status) &&
      last &&
      last.runs === record.runs &&
      isTerminal(last.status)
    ) {
      records.set(name, fromJournal(record, last));
      journaled += 1;
    }
  }
  let versions = 0;
  await store.transaction(async (tx) => {
    for (const name of records.keys()) {
      const lines = journals.get(name) ?? [];
      for (const line of lines) {
        await tx.addStats(statsRowOf(name, line, line.committed_at));
        versions += 1;
      }
      // Which versions reached the hub died with the database: every one is pushed again, and
      // the hub keeps each (agent, id, fingerprint) once, so a re-push is harmless. The latest
      // goes through dispatch_history, each earlier one waits in sync_versions as at its commit.
      const last = lines.at(-1);
      if (last) await tx.set(GROUPS.dispatchHistory, name, { ...last, id: name, synced: false });
      for (const line of lines.slice(0, -1)) {
        const fingerprint = fingerprintOf(line);
        await tx.set(GROUPS.syncVersions, `${name}#${fingerprint}`, {
          ...line,
          id: name,
          fingerprint,
        });
      }
    }
    await restoreRecords(ctx, tx, records, { fenced: isFleet(store), all: records });
  });
  const report = { workspaces: records.size, versions, journaled };
  ctx.logger.info(report, 'state store rebuilt from status.json files and journals');
  return report;
}

/** The record as the journal line ended it: the mirror missed that write (a crash between). */
function fromJournal(record: StatusRecord, line: JournalLine): StatusRecord {
  const { pid: _pid, pid_start: _start, ...rest } = record;
  return {
    ...rest,
    status: line.status,
    updated_at: line.updated_at,
    ...(line.question ? { question: line.question } : {}),
  };
}

function readJournal(meta: string): JournalLine[] {
  const text = readTextIfExists(join(meta, 'journal.jsonl'));
  if (text === undefined) return [];
  const lines: JournalLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    try {
      const parsed = journalLineSchema.safeParse(JSON.parse(raw));
      if (parsed.success) lines.push(parsed.data);
    } catch {
      // A torn line (a crash mid-append) holds nothing committed.
    }
  }
  return lines;
}
