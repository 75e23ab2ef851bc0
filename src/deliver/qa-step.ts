import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import type { QaCheckConfig } from '../config/index.js';
import { readTail } from '../lib/fs.js';
import { runGit } from '../lib/git.js';
import { qaFailureQuestion, qaFixAnswer, runQa, writeReport } from '../qa/index.js';
import type { StatusRecord } from '../workspace/index.js';
import type { Harvest } from './harvest.js';

/**
 * How many earlier journal lines are handed to the finding history: it keeps the last five QA
 * cycles itself, and lines without a report (failed runs, QA off) do not count as cycles.
 */
const HISTORY_LINES = 20;
/** The journal's tail read for them (lines carry compact reports, a few KiB each). */
const HISTORY_BYTES = 1 << 20;

/** The QA verdict of one closeout. */
export interface Checked {
  passed: boolean;
  outcome: NonNullable<StatusRecord['qa']>;
  /** `QA failed: <check>: <last lines>` when it failed. */
  question: string;
  /** What a fix round tells the agent. */
  fixAnswer: string;
}

/**
 * Runs QA on the harvested commit (configured checks, or detected ones when none are), writes
 * `.meta/report.json`, and compares its findings with the workspace's last journal lines.
 */
export async function checkWork(
  ctx: AppContext,
  name: string,
  dir: string,
  repoDir: string,
  harvest: Harvest,
  checks: readonly QaCheckConfig[] | undefined,
): Promise<Checked> {
  const report = await runQa({
    workspace: name,
    repoDir,
    commit: harvest.head,
    checks,
    history: journalHistory(dir),
    changes: harvest.changes,
    env: ctx.config.childEnv,
    now: () => ctx.clock.now(),
    logDir: join(dir, '.meta', 'qa'),
  });
  await writeReport(dir, report);
  await excludeLeftovers(repoDir, ctx.config.childEnv);
  return {
    passed: report.passed,
    outcome: {
      passed: report.passed,
      summary_text: report.summary_text,
      new_findings: report.new.length,
    },
    question: qaFailureQuestion(report) ?? `QA failed: ${report.summary_text}`,
    fixAnswer: qaFixAnswer(report),
  };
}

/** The last journal lines of a workspace, parsed, oldest first; unreadable lines are skipped. */
function journalHistory(dir: string): unknown[] {
  const lines = readTail(join(dir, '.meta', 'journal.jsonl'), HISTORY_BYTES)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-HISTORY_LINES - 1);
  const out: unknown[] = [];
  for (const line of lines) {
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut by the tail window, or torn: not history
    }
  }
  return out.slice(-HISTORY_LINES);
}

/**
 * Adds what the checks left untracked in the clone (installed dependencies, caches, build
 * output the repository does not ignore) to `.git/info/exclude`, so that no later harvest
 * commits it as the agent's work.
 */
async function excludeLeftovers(
  repoDir: string,
  env: Readonly<Record<string, string>>,
): Promise<void> {
  const untracked = await runGit(
    ['ls-files', '--others', '--exclude-standard', '--directory', '-z'],
    repoDir,
    env,
    'IO_FAILED',
  );
  const paths = untracked.split('\0').filter((p) => p !== '');
  if (paths.length === 0) return;
  const lines = paths.map((p) => `/${p.replace(/([*?[\\#! ])/g, '\\$1')}`);
  appendFileSync(
    join(repoDir, '.git', 'info', 'exclude'),
    `# left by agentic's QA checks\n${lines.join('\n')}\n`,
  );
}
