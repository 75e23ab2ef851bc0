import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { writeFileAtomic } from '../lib/fs.js';
import type { StatusRecord } from '../workspace/index.js';

/** Which fix-round counter a round uses: QA's (`qa.fix_rounds`) or CI's (`deliver.fix_rounds`). */
export type FixRoundCounter = 'qa_round' | 'ci_round';

/**
 * Sends finished work back to its agent: the failure is written to `ANSWER.md` in the clone
 * (the next run's prompt quotes it, as for a human's answer), the workspace is queued again on
 * the same branch, and the round is counted on the record. Shared by QA and CI fix rounds so
 * both resume the agent the same way.
 */
export function fixRound(
  ctx: AppContext,
  record: StatusRecord,
  repoDir: string,
  answer: string,
  counter: FixRoundCounter,
): StatusRecord {
  writeFileAtomic(join(repoDir, 'ANSWER.md'), `${answer}\n`);
  return {
    ...record,
    status: nextStatus(record.status, 'resume'),
    [counter]: (record[counter] ?? 0) + 1,
    queued_at: isoUtc(ctx.clock.now()),
  };
}
