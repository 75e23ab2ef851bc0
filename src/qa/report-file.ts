import { join } from 'node:path';
import { AgenticError } from '../lib/errors.js';
import { readTextIfExists, writeFileAtomicAsync } from '../lib/fs.js';
import { qaReportSchema, type QaReport, type QaSummary } from './report-schema.js';

/** Path of a workspace's QA report: `<workspace>/.meta/report.json`. */
export function reportPath(workspaceDir: string): string {
  return join(workspaceDir, '.meta', 'report.json');
}

/** Writes `.meta/report.json` atomically (temp file, fsync, rename), creating `.meta` if need be. */
export async function writeReport(workspaceDir: string, report: QaReport): Promise<void> {
  await writeFileAtomicAsync(reportPath(workspaceDir), `${JSON.stringify(report, null, 2)}\n`, {
    fsync: true,
  });
}

/**
 * Reads a workspace's QA report; undefined when there is none. Throws INPUT_INVALID when the
 * file is not a report (hand-edited or from another version).
 */
export function readReport(workspaceDir: string): QaReport | undefined {
  const path = reportPath(workspaceDir);
  const text = readTextIfExists(path);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AgenticError(
      'INPUT_INVALID',
      `${path} is not valid JSON; run QA again to rewrite it`,
      { cause: err },
    );
  }
  const parsed = qaReportSchema.safeParse(json);
  if (!parsed.success)
    throw new AgenticError(
      'INPUT_INVALID',
      `${path} is not a QA report: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  return parsed.data;
}

/** What a journal line and the synced record carry of a report. */
export interface JournalQa {
  commit: string;
  passed: boolean;
  build_passed: boolean;
  test_passed: boolean;
  lint_passed: boolean;
  summary: QaSummary;
  summary_text: string;
  /** Fingerprints only: enough for the next cycle's new/resolved/persistent. */
  findings: string[];
}

/**
 * The compact form of a report for the journal line (put it under `report`): the verdicts, the
 * counts and the findings' fingerprints, which is what the next cycle's history reads.
 */
export function reportForJournal(report: QaReport): JournalQa {
  return {
    commit: report.commit,
    passed: report.passed,
    build_passed: report.build_passed,
    test_passed: report.test_passed,
    lint_passed: report.lint_passed,
    summary: report.summary,
    summary_text: report.summary_text,
    findings: report.findings.map((f) => f.fingerprint),
  };
}
