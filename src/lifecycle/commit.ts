import { closeSync, fstatSync, fsyncSync, openSync, readSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { appendDurable, writeFileAtomicAsync } from '../lib/fs.js';
import { GROUPS } from '../store/index.js';
import {
  fingerprintOf,
  isTerminal,
  parseWorkspaceName,
  workspaceDir,
  type StatusRecord,
} from '../workspace/index.js';
import { commitMarkerPath, isCommitted, readCommitMarker } from '../workspace/commit-marker.js';
import { readRecord } from './records.js';
import { statsRowOf } from './stats.js';
import { readReport, reportForJournal, type QaReport } from '../qa/index.js';

/** What `agentic commit` and `agentic_commit` return. */
export interface CommitResult {
  success: true;
  workspace: string;
  journal_path: string;
  marker_path: string;
  committed_at: string;
  skipped: boolean;
}

const journalKeySchema = z.looseObject({
  updated_at: z.string(),
  runs: z.number(),
  committed_at: z.string(),
});

/** The journal record of one committed dispatch version (docs/ARCHITECTURE.md). */
export type JournalRecord = Record<string, unknown> & {
  workspace: string;
  updated_at: string;
  runs: number;
  committed_at: string;
};

/**
 * Commits the workspace's current status: appends one line to `.meta/journal.jsonl` (fsynced),
 * stores the record in `dispatch_history` (`id` = name, `synced: false`), the version in
 * `sync_versions` (waiting for the hub) and a stats row in one transaction, then writes `.meta/commit.json`. Idempotent: when the marker — or, after a
 * crash before the marker, the journal's last line — already holds this `updated_at` and
 * `runs`, nothing is appended and the result says `skipped`. A torn last journal line is cut
 * off first. Throws WORKSPACE_NOT_FOUND when the workspace has no status.
 */
export async function commitWorkspace(ctx: AppContext, name: string): Promise<CommitResult> {
  parseWorkspaceName(name);
  const record = await readRecord(ctx, name);
  if (record === undefined)
    throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
      field: 'workspace',
    });
  if (record.closeout === 'pending')
    throw new AgenticError(
      'STATE_CONFLICT',
      `${name} is being closed out (harvest, QA, hand-back); its journal line is written when that ends`,
      { field: 'workspace' },
    );
  const result = (await commitWorkspaces(ctx, new Map([[name, record]]))).get(name);
  if (!result) throw new AgenticError('INTERNAL', `commit produced no result for ${name}`);
  return result;
}

/** {@link commitWorkspace} for many records at once: one store transaction for all history and stats. */
export async function commitWorkspaces(
  ctx: AppContext,
  records: ReadonlyMap<string, StatusRecord>,
): Promise<Map<string, CommitResult>> {
  const results = new Map<string, CommitResult>();
  const pending: Array<{
    name: string;
    record: StatusRecord;
    line: JournalRecord;
    markerPath: string;
    append: string | undefined;
  }> = [];
  for (const [name, record] of records) {
    const dir = workspaceDir(ctx.config.workspaceRoot, name);
    const meta = join(dir, '.meta');
    const journalPath = join(meta, 'journal.jsonl');
    const markerPath = commitMarkerPath(dir);
    const result = (committedAt: string, skipped: boolean): CommitResult => ({
      success: true,
      workspace: name,
      journal_path: journalPath,
      marker_path: markerPath,
      committed_at: committedAt,
      skipped,
    });
    const marker = readCommitMarker(markerPath);
    if (marker && marker.updated_at === record.updated_at && marker.runs === record.runs) {
      results.set(name, result(marker.committed_at, true));
      continue;
    }
    const last = lastJournalEntry(journalPath);
    let line: JournalRecord;
    let append: string | undefined;
    if (last && last.updated_at === record.updated_at && last.runs === record.runs) {
      line = last as JournalRecord;
    } else {
      line = journalRecord(name, dir, record, isoUtc(ctx.clock.now()));
      append = journalPath;
    }
    pending.push({ name, record, line, markerPath, append });
    results.set(name, result(line.committed_at, false));
  }
  if (pending.length === 0) return results;
  // Appends run in parallel: concurrent fsyncs share one filesystem journal commit, which is
  // what keeps reaping hundreds of ghosts at start fast.
  await Promise.all(
    pending.map(({ line, append }) =>
      append === undefined ? undefined : appendDurable(append, `${JSON.stringify(line)}\n`),
    ),
  );
  const store = await ctx.store();
  await store.transaction(async (tx) => {
    for (const { name, record, line } of pending) {
      await tx.set(GROUPS.dispatchHistory, name, { ...line, id: name, synced: false });
      // Every committed version waits for the hub on its own: dispatch_history keeps only the
      // latest, and a workspace resumed before the next push would lose the earlier one.
      const fingerprint = fingerprintOf(record);
      await tx.set(GROUPS.syncVersions, `${name}#${fingerprint}`, {
        ...line,
        id: name,
        fingerprint,
      });
      await tx.addStats(statsRowOf(name, record, line.committed_at));
      if ((await tx.get(GROUPS.uncommitted, name)) === fingerprintOf(record))
        await tx.delete(GROUPS.uncommitted, name);
    }
  });
  // The journal line is already durable and doubles as the marker after a crash, so the
  // marker itself needs no fsync.
  await Promise.all(
    pending.map(({ name, record, line, markerPath }) =>
      writeFileAtomicAsync(
        markerPath,
        `${JSON.stringify({ workspace: name, updated_at: record.updated_at, runs: record.runs, committed_at: line.committed_at })}\n`,
      ),
    ),
  );
  for (const { name } of pending) ctx.events.emit('committed', name);
  return results;
}

/** True when the record is terminal and its current version has no commit marker yet. */
export function needsCommit(ctx: AppContext, name: string, record: StatusRecord): boolean {
  return (
    isTerminal(record.status) && !isCommitted(workspaceDir(ctx.config.workspaceRoot, name), record)
  );
}

function journalRecord(
  name: string,
  dir: string,
  r: StatusRecord,
  committedAt: string,
): JournalRecord {
  const line: JournalRecord = {
    workspace: name,
    repo: r.repo,
    org: r.org,
    task: r.task,
    agent: r.agent,
    branch: r.branch,
    status: r.status,
    question: r.question ?? '',
    issue: r.issue ?? 0,
    runs: r.runs,
    process_id: r.process_id ?? '',
    pr_url: r.pr_url ?? '',
    started_at: r.started_at ?? '',
    updated_at: r.updated_at,
    committed_at: committedAt,
  };
  if (r.base_ref !== undefined) line['base_ref'] = r.base_ref;
  if (r.base_sha !== undefined) line['base_sha'] = r.base_sha;
  if (r.changes !== undefined) line['changes'] = r.changes;
  if (r.qa !== undefined) line['qa'] = r.qa;
  if (r.delivered !== undefined) line['delivered'] = r.delivered;
  if (r.usage !== undefined) line['usage'] = r.usage;
  if (r.session_id !== undefined) line['session_id'] = r.session_id;
  // The report of this version's QA, in its compact form (verdicts, counts, fingerprints: what
  // the next cycle's finding history reads); a report from an earlier cycle is not this one's.
  if (r.qa !== undefined) {
    const report = readQaReport(dir);
    if (report) line['report'] = reportForJournal(report);
  }
  return line;
}

function readQaReport(dir: string): QaReport | undefined {
  try {
    return readReport(dir);
  } catch {
    return undefined; // a hand-edited report: the record's qa summary still says the verdict
  }
}

/** The last complete journal line, after cutting off a torn (unterminated) tail left by a crash. */
function lastJournalEntry(path: string): z.infer<typeof journalKeySchema> | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 1 << 20);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const text = buf.toString('utf8');
    const end = text.lastIndexOf('\n');
    if (end !== text.length - 1) {
      ftruncateSync(fd, size - len + Buffer.byteLength(text.slice(0, end + 1)));
      fsyncSync(fd);
    }
    const lastLine = text.slice(0, end).split('\n').pop() ?? '';
    if (lastLine === '') return undefined;
    const parsed = journalKeySchema.safeParse(JSON.parse(lastLine));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
