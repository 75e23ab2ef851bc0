import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/fs.js';
import type { StatusRecord } from '../workspace/index.js';

/** Moves a previous run's BLOCKED.md to `.meta/` so the next run does not end on the same question. */
export function setAsideBlocked(dir: string, runs: number): void {
  const blocked = join(dir, 'repo', 'BLOCKED.md');
  if (!existsSync(blocked)) return;
  mkdirSync(join(dir, '.meta'), { recursive: true });
  try {
    renameSync(blocked, join(dir, '.meta', `BLOCKED-run${runs}.md`));
  } catch (err) {
    // A resume on this node and the run it queued may both set it aside: one of them did.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Puts a resume's files into the clone of the run about to start, on the node that starts it
 * (in a fleet the resume may have been given on another node): the answer kept on the record
 * becomes repo/ANSWER.md, read into the prompt, and a question left by an earlier run is set
 * aside. A clone without ANSWER.md gets the answer an earlier run started with back (a fresh
 * clone after a takeover); one that has it keeps it (a QA fix round writes its own). Any
 * BLOCKED.md found before a run starts is an earlier run's: a run that leaves one ends
 * `blocked`, and only a resume or a new dispatch queues a blocked workspace again.
 */
export function placeResumeFiles(dir: string, repoDir: string, record: StatusRecord): void {
  setAsideBlocked(dir, record.runs);
  const answer = join(repoDir, 'ANSWER.md');
  if (record.pending_answer !== undefined) writeFileAtomic(answer, `${record.pending_answer}\n`);
  else if (record.last_answer !== undefined && !existsSync(answer))
    writeFileAtomic(answer, `${record.last_answer}\n`);
}
