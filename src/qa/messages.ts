import { bounded, lastLines, shellLine } from './output-text.js';
import type { QaReport, ToolResult } from './report-schema.js';

/** Longest question a failed QA leaves in the status record. */
const QUESTION_MAX = 1500;
/** Output kept per failing check in a fix-round answer. */
const ANSWER_TAIL = 3000;
/** Longest fix-round answer. */
const ANSWER_MAX = 12_000;
/** New lint findings listed in a fix-round answer. */
const ANSWER_FINDINGS = 20;

/** The checks that make a report fail: build and test checks that failed or timed out, in run order. */
export function failingChecks(report: QaReport): ToolResult[] {
  return report.tools.filter(
    (t) =>
      (t.kind === 'build' || t.kind === 'test') &&
      (t.status === 'failed' || t.status === 'timeout'),
  );
}

/**
 * The question a failed QA leaves on the workspace, for the first failing build or test check:
 * `QA failed: <check>: <exit code, timeout or why it did not run>` and the last lines of its
 * output below, at most 1,500 characters; undefined when the report passed.
 */
export function qaFailureQuestion(report: QaReport): string | undefined {
  const first = failingChecks(report)[0];
  if (first === undefined) return undefined;
  const head = `QA failed: ${first.name}: ${outcome(first)}`;
  const tail = lastLines(first.output_tail, QUESTION_MAX - head.length - 1, 20);
  return bounded(tail === '' ? head : `${head}\n${tail}`, QUESTION_MAX);
}

/**
 * What a fix round tells the agent: which checks failed on which commit, how to run each again,
 * and the end of each one's output (plus new lint findings, which do not gate); at most 12,000
 * characters. Empty when the report passed.
 */
export function qaFixAnswer(report: QaReport): string {
  const failing = failingChecks(report);
  if (failing.length === 0) return '';
  const parts = [
    `QA failed on commit ${report.commit.slice(0, 12)}: ${failing.map((t) => t.name).join(', ')}. ` +
      'Fix the cause, run the failing check again to confirm, and commit your fix on this branch.',
  ];
  for (const t of failing) {
    const tail = lastLines(t.output_tail, ANSWER_TAIL, 80);
    parts.push(
      [
        `## ${t.name} (${t.kind}): ${outcome(t)}`,
        `Reproduce from the repository root: ${shellLine(t.command)}`,
        ...(tail === ''
          ? ['It printed nothing.']
          : ['Last lines of its output:', '```', tail, '```']),
      ].join('\n'),
    );
  }
  const lint = report.new.filter((f) =>
    report.tools.some((t) => t.name === f.tool && t.kind === 'lint'),
  );
  if (lint.length > 0) {
    const shown = lint
      .slice(0, ANSWER_FINDINGS)
      .map((f) => `- ${f.file}:${f.line} ${f.code}: ${f.message}`);
    if (lint.length > shown.length) shown.push(`- … and ${lint.length - shown.length} more`);
    parts.push(
      ['New lint findings (they do not fail QA, but fix them if they are yours):', ...shown].join(
        '\n',
      ),
    );
  }
  return bounded(parts.join('\n\n'), ANSWER_MAX);
}

/** How a failing check ended, in a few words. */
function outcome(t: ToolResult): string {
  if (t.status === 'timeout') return `timed out after ${t.timeout_seconds} s`;
  if (t.exit_code !== null) return `exit code ${t.exit_code}`;
  return t.note ?? 'killed by a signal';
}
