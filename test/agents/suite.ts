import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ensureAgentClis, type RealCli } from '../helpers/agent-clis.js';
import { json, runCli } from '../helpers/cli.js';
import { waitUntil } from '../helpers/dispatch.js';
import type { ModelBehaviour } from '../helpers/model-apis.js';
import {
  backoffOf,
  bulletTask,
  processesOf,
  scenario,
  waitForRecord,
  type Scenario,
  type ScenarioOptions,
} from './harness.js';

/** What one CLI is expected to do when its model API reports a limit or refuses its key. */
export interface CliExpectations {
  /** The stand-in's usage-limit variant, if the CLI's provider has several. */
  limitVariant?: 'quota' | 'usage';
  /** How the question of a limit-requeued run starts. */
  limitQuestion: RegExp;
  /** The pause the pool gets, in ms from the dispatch, with a tolerance. */
  pauseMs: { min: number; max: number };
  /** The CLI's own auth error text in the question. */
  authCause: RegExp;
  /** The run timeout for the never-answering model API: long enough for the CLI to start and ask. */
  hangTimeoutMinutes: number;
  /** Run this CLI's tests side by side (for a CLI that takes long to start). */
  concurrent?: boolean;
  /** The usage recorded for the completing run, from the stand-in's token counts (and the CLI's cost). */
  usage: { input_tokens: number; output_tokens: number; cost_usd?: number };
  /**
   * For a CLI that continues its conversation on resume: the workspace's usage after a blocked
   * run and its resumed run (the CLI's cumulative figures must not be counted twice).
   */
  resume?: { usage: { input_tokens: number; output_tokens: number; cost_usd?: number } };
  /**
   * Why this CLI's group runs only when AGENTIC_TEST_<CLI>=1 is set, if it does: a known gap,
   * reported by the suite instead of failing CI on something outside the product.
   */
  optInBecause?: string;
}

/**
 * The real-CLI checks, for one CLI against its stand-in model API, driven through the built
 * `agentic` binary: completes and wrote the file with a task starting with `-` past 128 KiB;
 * a usage-limit answer requeues with the right pause; an auth failure fails with the CLI's cause
 * and a hint; a model API that never answers ends in the run timeout with no process left.
 * `extra` adds CLI-specific tests.
 */
export function describeRealCli(
  cli: RealCli,
  expected: CliExpectations,
  extra?: (start: Start) => void,
): void {
  const clis = ensureAgentClis();
  const optIn = `AGENTIC_TEST_${cli.toUpperCase()}`;
  const optedOut = expected.optInBecause !== undefined && process.env[optIn] !== '1';
  if (optedOut)
    process.stderr.write(`${cli}: real-CLI tests need ${optIn}=1 (${expected.optInBecause})\n`);
  describe.skipIf(!clis.ok || optedOut)(
    `${cli} (real CLI) through agentic dispatch`,
    // Each test has its own CoreRoot and stand-in, so a slow CLI's tests may run side by side.
    { timeout: 240_000, concurrent: expected.concurrent === true },
    () => {
      const start: Start = async (behaviour, options = {}) => {
        if (!clis.ok) throw new Error(clis.reason);
        const s = await scenario(cli, clis, { behaviour, ...options });
        onTestFinished(() => s.close());
        return s;
      };

      it('completes, wrote the file, and got a task starting with "-" longer than 128 KiB intact', async () => {
        const sc = await start({ kind: 'write', path: 'out.txt', content: `hello from ${cli}\n` });
        const task = bulletTask('out.txt');
        const { code, summary } = await sc.dispatchWait(task);
        expect(summary).toMatchObject({ status: 'completed' });
        expect(code).toBe(0);
        const ws = sc.workspaceDir(String(summary['workspace']));
        expect(readFileSync(join(ws, 'repo', 'out.txt'), 'utf8')).toBe(`hello from ${cli}\n`);
        // The first lines of the task, as the model API received them (JSON-escaped).
        const head = JSON.stringify(task.slice(0, 200)).slice(1, -1);
        expect(sc.api.requests.some((r) => r.text.includes(head))).toBe(true);
        // The transcript shows the tool call on one line; --raw keeps the CLI's JSON events.
        const name = String(summary['workspace']);
        const transcript = await runCli(['logs', name], sc.env, { timeoutMs: 120_000 });
        expect(transcript.stdout, `exit ${transcript.code}: ${transcript.stderr}`).toMatch(
          /^→ .*out\.txt/m,
        );
        expect(transcript.stdout).not.toMatch(/^\{"/m);
        expect((await runCli(['logs', name, '--raw'], sc.env)).stdout).toMatch(/^\{"/m);
        // The CLI's usage is on the record, the journal line and the stats summary.
        const record = await sc.record(name);
        expect(record?.['usage']).toEqual(expected.usage);
        expect(String(record?.['session_id'] ?? '')).not.toBe('');
        const journal = readFileSync(join(ws, '.meta', 'journal.jsonl'), 'utf8')
          .trim()
          .split('\n');
        expect(JSON.parse(journal.at(-1) ?? '{}')).toMatchObject({ usage: expected.usage });
        // The stats row is written with the journal commit, which may trail the answer.
        const stats = await waitUntil(
          'a stats row',
          async () => {
            const s = json(await runCli(['workspace', 'stats', '--json'], sc.env));
            return (s['summary'] as { count: number }).count > 0 ? s : undefined;
          },
          30_000,
        );
        expect(stats['summary']).toMatchObject({ usage: { ...expected.usage, workspaces: 1 } });
        // Nothing was fetched from the package registry during the run (opencode's plugin
        // package comes from the warmed cache).
        expect(sc.registry.requests).toEqual([]);
      });

      it('requeues on a usage-limit answer and pauses the pool for as long as the limit says', async () => {
        const sc = await start({
          kind: 'usage-limit',
          ...(expected.limitVariant ? { variant: expected.limitVariant } : {}),
        });
        await sc.startDaemon();
        const before = Date.now();
        const name = await sc.dispatch('- add a line');
        const r = await waitForRecord(
          sc,
          name,
          'requeue',
          (r) => r['status'] === 'queued' && r['runs'] === 1,
        );
        expect(String(r['question'])).toMatch(expected.limitQuestion);
        expect(r).toMatchObject({ usage_requeues: 1 });
        const pause = (await backoffOf(sc, cli)) - before;
        expect(pause).toBeGreaterThan(expected.pauseMs.min);
        expect(pause).toBeLessThan(expected.pauseMs.max);
      });

      it("fails an auth error with the CLI's own message and a hint in the question", async () => {
        const sc = await start({ kind: 'auth' });
        const { code, summary } = await sc.dispatchWait('- add a line');
        expect(code).toBe(1);
        expect(summary).toMatchObject({ status: 'failed' });
        expect(String(summary['question'])).toMatch(/^agent exited with code \d+: /);
        expect(String(summary['question'])).toMatch(expected.authCause);
        expect(String(summary['question'])).toMatch(/hint: authentication failed/);
      });

      it('ends a model API that never answers in the run timeout with no process left', async () => {
        const sc = await start(
          { kind: 'hang' },
          {
            dispatchYaml: `  timeout_minutes: ${expected.hangTimeoutMinutes}\n  kill_grace_seconds: 2`,
          },
        );
        const { summary } = await sc.dispatchWait('- add a line');
        expect(summary).toMatchObject({
          status: 'failed',
          question: `agent timed out after ${expected.hangTimeoutMinutes}m`,
        });
        expect(sc.api.requests.length).toBeGreaterThan(0);
        const name = String(summary['workspace']);
        // Every process the run started is gone: the group, and any helper that left it.
        expect(processesOf(name)).toEqual([]);
      });

      // Registered only for a CLI that resumes, instead of reported as skipped for the others.
      if (expected.resume !== undefined)
        it('continues the blocked conversation when resumed with an answer', async () => {
          // The model asks by writing BLOCKED.md; after the resume it only ends its turn.
          const sc = await start({
            kind: 'write',
            path: 'BLOCKED.md',
            content: 'Q-789: A or B?\n',
          });
          const first = await sc.dispatchWait('- pick A or B (TASK-123)');
          expect(first.summary).toMatchObject({ status: 'blocked' });
          const name = String(first.summary['workspace']);
          const blocked = await sc.record(name);
          const session = String(blocked?.['session_id'] ?? '');
          expect(session).not.toBe('');
          const seen = sc.api.requests.length;
          await sc.startDaemon();
          const resumed = await runCli(['resume', name, '--answer', 'ANSWER-456: B'], sc.env);
          expect(resumed.code, resumed.stderr).toBe(0);
          const done = await waitForRecord(
            sc,
            name,
            'the resumed run',
            (r) => r['runs'] === 2 && r['status'] !== 'queued' && r['status'] !== 'running',
          );
          expect(done).toMatchObject({ status: 'completed', session_id: session });
          expect(done['resume_session']).toBeUndefined();
          // The resumed run's requests carry the first run's conversation (the task and the
          // question the model wrote), which its own prompt — only the answer — does not.
          const later = sc.api.requests.slice(seen).filter((r) => r.method === 'POST');
          expect(later.length).toBeGreaterThan(0);
          expect(later.some((r) => r.text.includes('ANSWER-456'))).toBe(true);
          const withHistory = later.find((r) => r.text.includes('ANSWER-456'));
          expect(withHistory?.text).toContain('TASK-123');
          expect(withHistory?.text).toContain('Q-789');
          expect(done['usage']).toEqual(expected.resume?.usage);
        });

      extra?.(start);
    },
  );
}

/** Starts a scenario for the suite's CLI; closed after each test. */
export type Start = (
  behaviour: ModelBehaviour,
  options?: Omit<ScenarioOptions, 'behaviour'>,
) => Promise<Scenario>;
