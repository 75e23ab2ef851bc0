import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { QaCheckConfig } from '../config/index.js';
import { AgenticError } from '../lib/errors.js';
import { detectChecks, type QaCheck } from './detect.js';
import { findExecutable } from '../lib/executable.js';
import { clusterFindings, compareWithHistory } from './history.js';
import { parseFindings } from './parse-findings.js';
import type { Changes, Finding, QaReport, QaSummary, ToolResult } from './report-schema.js';
import { runCheck } from './run-check.js';

/** Most findings a report keeps (the rest are counted in `summary.findings_dropped`). */
export const MAX_FINDINGS = 1000;
const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What QA needs to check one commit of a workspace. */
export interface QaInput {
  /** `org/repo/leaf`. */
  workspace: string;
  /** The clone the checks run in. */
  repoDir: string;
  /** The HEAD commit being checked. */
  commit: string;
  /** The configured checks; undefined = detect them from the clone. */
  checks: readonly QaCheckConfig[] | undefined;
  /** Earlier journal lines of the workspace (parsed JSON, oldest first), for new/resolved/persistent. */
  history: readonly unknown[];
  changes: Changes;
  /** The checks' environment; CI=1 is added, and a standard PATH when it has none. */
  env: Readonly<Record<string, string>>;
  now: () => Date;
  /** Where each check's full output goes, e.g. `<workspace>/.meta/qa`. */
  logDir: string;
  /** Between SIGTERM and SIGKILL when a check times out (default 5 s). */
  killGraceMs?: number;
  /** Aborting (the runner shutting down) kills the running check; runQa then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Runs the checks of one commit in order and builds its report: each check in its own process
 * group with its timeout, a missing program `skipped`, an install step that failed failing the
 * checks that need it; findings parsed from linters' output and compared with the workspace's
 * history. Passed = every build and test check passed or was skipped; lint never gates.
 * Throws IO_FAILED when `repoDir` is not a directory and the abort reason when `signal` aborts;
 * a check's own failure never throws.
 */
export async function runQa(input: QaInput): Promise<QaReport> {
  // A missing clone would otherwise pass as every program being "not installed".
  if (!isDirectory(input.repoDir))
    throw new AgenticError('IO_FAILED', `QA cannot run: ${input.repoDir} is not a directory`);
  const detection = input.checks === undefined ? detectChecks(input.repoDir) : undefined;
  const checks: QaCheck[] =
    detection?.checks ?? (input.checks ?? []).map((c) => ({ ...c, detected: false }));
  // Without a PATH every program would look missing and QA would pass with everything skipped.
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...input.env, CI: '1' };
  const timeoutProgram = findExecutable('timeout', env.PATH, { cwd: input.repoDir });
  const killGraceMs = input.killGraceMs ?? DEFAULT_KILL_GRACE_MS;

  const tools: ToolResult[] = [];
  const all: Finding[] = [];
  const broken = new Set<string>();
  for (const [i, check] of checks.entries()) {
    const entry = {
      name: check.name,
      kind: check.kind,
      detected: check.detected,
      command: [...check.run],
      timeout_seconds: check.timeout_seconds,
    };
    if (check.needs !== undefined && broken.has(check.needs)) {
      tools.push({
        ...entry,
        status: 'failed',
        exit_code: null,
        duration_ms: 0,
        log_path: null,
        output_tail: '',
        findings: 0,
        note: `not run: ${check.needs} failed`,
      });
      broken.add(check.name);
      continue;
    }
    const run = await runCheck(check, {
      cwd: input.repoDir,
      env,
      logPath: join(input.logDir, `${String(i + 1).padStart(2, '0')}-${slug(check.name)}.log`),
      killGraceMs,
      timeoutProgram,
      now: input.now,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    if (run.status === 'failed' || run.status === 'timeout') broken.add(check.name);
    const notes = run.note === undefined ? [] : [run.note];
    let found: Finding[] = [];
    if (run.stdout !== undefined && run.status !== 'skipped') {
      const parsed = parseFindings(check.parse, check.name, run.stdout, input.repoDir);
      found = parsed.findings;
      if (parsed.note !== undefined) notes.push(parsed.note);
    }
    all.push(...found);
    tools.push({
      ...entry,
      status: run.status,
      exit_code: run.exitCode,
      duration_ms: run.durationMs,
      log_path: run.logPath,
      output_tail: run.outputTail,
      findings: found.length,
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    });
  }

  const findings = all.slice(0, MAX_FINDINGS);
  const history = compareWithHistory(findings, input.history);
  const gate = (kind: QaCheck['kind']): boolean =>
    tools.every((t) => t.kind !== kind || t.status === 'passed' || t.status === 'skipped');
  const build_passed = gate('build');
  const test_passed = gate('test');
  const passed = build_passed && test_passed;
  const count = (status: ToolResult['status']): number =>
    tools.filter((t) => t.status === status).length;
  const summary: QaSummary = {
    checks: tools.length,
    passed: count('passed'),
    failed: count('failed'),
    skipped: count('skipped'),
    timeout: count('timeout'),
    findings: findings.length,
    findings_dropped: all.length - findings.length,
    new: history.new.length,
    resolved: history.resolved.length,
    persistent: history.persistent.length,
  };
  return {
    workspace: input.workspace,
    commit: input.commit,
    build_passed,
    test_passed,
    lint_passed: gate('lint'),
    passed,
    tools,
    findings,
    summary,
    summary_text: summaryText(passed, tools, summary, detection === undefined, history.cycles > 0),
    new: history.new,
    resolved: history.resolved,
    persistent: history.persistent,
    clusters: clusterFindings(findings),
    changes: input.changes,
    detected: detection?.description ?? null,
    generated_at: input.now().toISOString(),
  };
}

/** One line for people: `QA passed: 2 checks (npm ci, npm test), 3 findings (1 new)`. */
function summaryText(
  passed: boolean,
  tools: readonly ToolResult[],
  s: QaSummary,
  configured: boolean,
  compared: boolean,
): string {
  const verdict = `QA ${passed ? 'passed' : 'failed'}`;
  if (tools.length === 0)
    return `${verdict}: no checks (${configured ? 'none configured' : 'nothing detected'})`;
  const shown = tools.slice(0, 6).map((t) => {
    if (t.status === 'passed') return t.name;
    if (t.status === 'skipped') return `${t.name} skipped: not installed`;
    if (t.status === 'timeout') return `${t.name} timed out`;
    return t.note?.startsWith('not run') ? `${t.name} not run` : `${t.name} failed`;
  });
  if (tools.length > shown.length) shown.push(`${tools.length - shown.length} more`);
  let text = `${verdict}: ${tools.length} check${tools.length === 1 ? '' : 's'} (${shown.join(', ')})`;
  const total = s.findings + s.findings_dropped;
  if (total > 0 || s.resolved > 0) {
    text += `, ${total} finding${total === 1 ? '' : 's'}`;
    // Without earlier cycles every finding would be "new": say nothing rather than mislead.
    if (compared) {
      const parts = [`${s.new} new`];
      if (s.resolved > 0) parts.push(`${s.resolved} resolved`);
      if (s.persistent > 0) parts.push(`${s.persistent} persistent`);
      text += ` (${parts.join(', ')})`;
    }
  }
  return text;
}

/** A check name as a file-name part. */
function slug(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'check'
  );
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
