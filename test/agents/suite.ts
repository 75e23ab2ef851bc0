import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ensureAgentClis, type RealCli } from '../helpers/agent-clis.js';
import { runCli } from '../helpers/cli.js';
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

      extra?.(start);
    },
  );
}

/** Starts a scenario for the suite's CLI; closed after each test. */
export type Start = (
  behaviour: ModelBehaviour,
  options?: Omit<ScenarioOptions, 'behaviour'>,
) => Promise<Scenario>;
