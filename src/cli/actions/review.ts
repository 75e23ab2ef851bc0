import type { Command } from 'commander';
import {
  acceptWorkspace,
  driveChecksWait,
  pullRequestStatus,
  rejectWorkspace,
  reviewList,
  workspaceDiff,
  type ReviewRow,
} from '../../deliver/index.js';
import { readRecord } from '../../lifecycle/index.js';
import { parseWorkspaceName } from '../../workspace/index.js';
import { age, EXIT, oneLine, runVerb, usage, writeJson, writeTable } from './run-verb.js';

/** Runs `review`. */
export async function review(_opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    const rows = await reviewList(ctx);
    if (common.json) return writeJson({ workspaces: rows });
    if (rows.length === 0) return void process.stdout.write('nothing to review\n');
    const now = ctx.clock.now();
    await writeTable(
      ['WORKSPACE', 'STATUS', 'COMMITS', '+/-', 'QA', 'AGE', 'TASK / QUESTION'],
      rows.map((r) => [
        r.workspace,
        r.status,
        r.changes?.commits ?? '-',
        r.changes ? `+${r.changes.insertions}/-${r.changes.deletions}` : '-',
        qaCell(r),
        age(r.updated_at, now),
        oneLine(r.status === 'blocked' ? (r.question ?? '') : r.task, 60),
      ]),
    );
    for (const r of rows)
      if (r.pr_url !== null) process.stdout.write(`${r.workspace}: pull request ${r.pr_url}\n`);
  });
}

/** Runs `diff`. */
export async function diff(name: string, opts: { stat?: boolean }, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    parseWorkspaceName(name);
    const color = !common.json && process.stdout.isTTY === true;
    const diff = await workspaceDiff(ctx, name, { stat: opts.stat === true, color });
    if (common.json) return writeJson({ workspace: name, stat: opts.stat === true, diff });
    if (diff !== '') process.stdout.write(`${diff}\n`);
  });
}

/** Runs `accept`. */
export async function accept(name: string, opts: AcceptOptions, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    parseWorkspaceName(name);
    const chosen = [opts.merge, opts.pr, opts.mergePr].filter((o) => o === true).length;
    if (chosen > 1)
      usage(
        'merge',
        '--merge, --pr and --merge-pr cannot be combined: a pull request is merged on its forge',
      );
    const verify = opts.mergePr === true;
    const accepted = await acceptWorkspace(ctx, name, {
      merge: opts.merge === true,
      pr: opts.pr === true,
      verify,
    });
    const { harvested } = accepted;
    let { record, merged } = accepted;
    if (verify) {
      if (!common.json)
        process.stdout.write(
          `${name}: pull request #${record.pr_number ?? '?'} ${record.pr_url ?? ''}; waiting for its checks\n`,
        );
      record = await driveChecksWait(ctx, name);
      merged = record.status === 'merged';
    }
    const code = verify && !merged ? EXIT.failed : EXIT.ok;
    if (common.json) {
      writeJson({
        success: true,
        workspace: name,
        status: record.status,
        merged,
        harvested,
        delivered: record.delivered ?? null,
        changes: record.changes ?? null,
        pr_url: record.pr_url ?? null,
        pr_number: record.pr_number ?? null,
        question: record.question ?? null,
      });
      return code;
    }
    if (verify) {
      process.stdout.write(
        merged
          ? `${name}: pull request #${record.pr_number ?? '?'} merged\n`
          : `${name}: ${record.status}${record.question ? `: ${record.question}` : ''}\n`,
      );
      return code;
    }
    if (opts.pr === true)
      return void process.stdout.write(
        `${name}: pull request #${record.pr_number ?? '?'} ${record.pr_url ?? ''}\n`,
      );
    const where = record.delivered
      ? `${record.delivered.ref} (${record.delivered.sha.slice(0, 12)})`
      : '';
    process.stdout.write(
      merged ? `${name}: merged into ${where}\n` : `${name}: delivered as ${where}\n`,
    );
  });
}

/** Runs `pr`. */
export async function pr(name: string, _opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    parseWorkspaceName(name);
    const pr = await pullRequestStatus(ctx, name);
    // deliver.mode merge: the wait for these checks, as the record keeps it.
    const wait = (await readRecord(ctx, name))?.checks_wait;
    if (common.json) return writeJson({ ...pr, checks_wait: wait ?? null });
    const out = [
      `${name}: pull request #${pr.pr_number} ${pr.state}${pr.draft ? ' (draft)' : ''}: ${pr.title}`,
      `  ${pr.pr_url}`,
      `  ${pr.head} → ${pr.base}${pr.mergeable === false ? ' (cannot merge: conflict?)' : ''}`,
      `  checks: ${pr.checks.state}`,
      ...pr.checks.checks.map(
        (c) => `    ${c.state.padEnd(8)} ${c.name}${c.url ? `  ${c.url}` : ''}`,
      ),
      ...(pr.delivery_error === null
        ? []
        : [
            `  last delivery failed: ${pr.delivery_error}`,
            `  nothing is lost; once that is fixed, run \`agentic accept ${name} --pr\``,
          ]),
      ...(wait
        ? [
            `  merging when green: waiting for ${wait.sha.slice(0, 12)} until ${wait.deadline}, next look ${wait.next_poll_at}${wait.rebased ? ' (rebased once)' : ''}`,
          ]
        : []),
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  });
}

/** Runs `reject`. */
export async function reject(name: string, opts: { reason?: string }, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    parseWorkspaceName(name);
    const record = await rejectWorkspace(ctx, name, opts.reason);
    if (common.json)
      return writeJson({
        success: true,
        workspace: name,
        status: record.status,
        question: record.question ?? null,
      });
    process.stdout.write(`${name}: ${record.status}\n`);
  });
}

/** The flags of `accept`. */
export interface AcceptOptions {
  merge?: boolean;
  pr?: boolean;
  mergePr?: boolean;
}

function qaCell(r: ReviewRow): string {
  if (r.qa_passed === null) return '-';
  const verdict = r.qa_passed ? 'pass' : 'FAIL';
  return r.new_findings > 0 ? `${verdict} (${r.new_findings} new)` : verdict;
}
