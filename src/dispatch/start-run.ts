import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { readRecord, recordInTx, trackInTransaction } from '../lifecycle/index.js';
import type { AgentsFile } from '../config/index.js';
import { batched } from '../lib/batch.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError, toAgenticError } from '../lib/errors.js';
import { readTextIfExists } from '../lib/fs.js';
import { retryUntilDone, warnEachRetry } from '../lib/retry.js';
import { poolOf, workspaceDir, type StatusRecord } from '../workspace/index.js';
import { findExecutable } from '../lib/executable.js';
import { agentCommand, resumableSession } from './agents.js';
import type { Claim } from './claim.js';
import { launchAgent, logPath, type Launched } from './launch.js';
import { prepareClone, writePrompt, type PrepResult } from './clone.js';
import { sourceOf } from './repo-source.js';
import { buildPrompt } from './prompt.js';
import { placeResumeFiles } from './resume-files.js';
import type { FinishItem } from './run-end.js';

/** What starting a run needs from the runner and its watcher. */
export interface RunStarterHooks {
  /** Ends a run that could not start, or was stopped before its agent started. */
  finish(item: FinishItem): Promise<void>;
  /** Watches a started agent to its end. */
  watch(name: string, record: StatusRecord, exited: Promise<number | null>): void;
  /** Stops an agent whose record moved on before its pid was recorded. */
  terminate(pgid: number, name: string, reason: string): void;
}

/** An agent just spawned, whose pid the record is to take. */
interface Start {
  name: string;
  runs: number;
  launched: Launched;
  baseRef: string;
  baseSha: string;
}

/** The launch pipeline of a claimed run: clone, prompt, agent command, spawn, record the pid. */
export class RunStarter {
  /** Agents spawned together have their pids recorded in one transaction. */
  private readonly recordStart = batched((items: Start[]) => this.recordStarts(items));
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    /** Node id recorded in each started record's process id. */
    private readonly node: string,
    private readonly hooks: RunStarterHooks,
  ) {}

  /** Stops retrying store writes (the runner is closing; the next runner's hydrate takes over). */
  stop(): void {
    this.stopped = true;
  }

  /** Prepares the workspace while the claim's fsync runs; starts the agent once it is durable. */
  async launch(claim: Claim, claimDurable: Promise<void>): Promise<void> {
    const { name, record } = claim;
    const dir = workspaceDir(this.ctx.config.workspaceRoot, name);
    const ref = { runs: record.runs, pid: undefined };
    try {
      const env = this.ctx.config.childEnv;
      if (!record.source)
        throw new AgenticError(
          'PREP_FAILED',
          'the record has no repository source; dispatch it again',
        );
      const source = sourceOf(record.source);
      const prep = await prepareClone(dir, source, record.branch, env, {
        ref: record.base_ref,
        sha: record.base_sha,
      });
      // Before the prompt reads ANSWER.md: a resume given on another node kept it on the record.
      placeResumeFiles(dir, prep.repoDir, record);
      const resumeSession = resumableSession(
        this.ctx.config.file,
        record.agent,
        record.resume_session,
      );
      const prompt = promptFor(this.ctx.config.file, name, record, prep, resumeSession);
      const promptFile = await writePrompt(dir, prompt);
      const model = record.agent.includes(':')
        ? record.agent.slice(record.agent.indexOf(':') + 1)
        : undefined;
      const command = agentCommand(this.ctx.config.file, record.agent, {
        prompt,
        promptFile,
        model,
        workspace: dir,
        repoDir: prep.repoDir,
        resumeSession,
      });
      if (findExecutable(command.argv[0], env['PATH']) === undefined) {
        await this.hooks.finish({
          name,
          ref,
          end: {
            kind: 'not-started',
            question: `agent CLI '${command.argv[0]}' not found on PATH`,
          },
        });
        return;
      }
      await claimDurable;
      const current = await readRecord(this.ctx, name);
      if (
        current?.status !== 'running' ||
        current.runs !== record.runs ||
        current.pid !== undefined
      )
        return;
      if (current.kill_reason !== undefined) {
        // Cancelled or killed while preparing: never start the agent.
        await this.hooks.finish({
          name,
          ref,
          end: { kind: 'not-started', question: 'stopped before the agent started' },
        });
        return;
      }
      const launched = await launchAgent(
        dir,
        command,
        logPath(dir, poolOf(record.agent)),
        {
          ...env,
          AGENTIC_WORKSPACE: name,
          AGENTIC_RUN: String(record.runs + 1),
          ...(record.continue_prompt ? { AGENTIC_CONTINUE: '1' } : {}),
        },
        record.runs + 1,
      );
      // The agent runs now: its pid must reach the record, or nothing watches or ends it. A store
      // that does not answer (the fleet database down) is waited out, never given up on.
      let started: StatusRecord | undefined;
      const recorded = await retryUntilDone(
        async () => {
          started = await this.recordStart({
            name,
            runs: record.runs,
            launched,
            baseRef: prep.baseRef,
            baseSha: prep.baseSha,
          });
        },
        {
          stopped: () => this.stopped,
          onError: warnEachRetry(this.ctx.logger, 'record the agent start', { workspace: name }),
        },
      );
      // Closing meanwhile: the agent runs on detached and the next runner's hydrate judges it.
      if (!recorded) return;
      if (!started) {
        this.hooks.terminate(launched.pid, name, 'stopped before it was recorded');
        return;
      }
      this.hooks.watch(name, started, launched.exited);
    } catch (err) {
      const e = toAgenticError(err);
      this.ctx.logger.warn({ workspace: name, err: e.message }, 'dispatch could not start');
      // Dropping this end would leave the record `running` with no agent until a restart.
      await retryUntilDone(
        () => this.hooks.finish({ name, ref, end: { kind: 'not-started', question: e.message } }),
        {
          stopped: () => this.stopped,
          onError: warnEachRetry(this.ctx.logger, 'record that the dispatch did not start', {
            workspace: name,
          }),
        },
      );
    }
  }

  /**
   * Records the pid of each spawned agent (runs + 1, started_at) in one transaction; an entry
   * is undefined when its record moved on meanwhile (cancelled, killed), and that agent is
   * then stopped by the caller.
   */
  private async recordStarts(items: Start[]): Promise<Array<StatusRecord | undefined>> {
    return trackInTransaction(this.ctx, async (trackFn, tx) => {
      const out: Array<StatusRecord | undefined> = [];
      for (const { name, runs, launched, baseRef, baseSha } of items) {
        const now = await recordInTx(tx, name);
        if (now?.status !== 'running' || now.runs !== runs) {
          out.push(undefined);
          continue;
        }
        const started = await trackFn(name, {
          ...now,
          pid: launched.pid,
          pid_start: launched.pidStart,
          process_id: `${this.node}:${launched.pid}`,
          runs: now.runs + 1,
          started_at: isoUtc(this.ctx.clock.now()),
          base_ref: baseRef,
          base_sha: baseSha,
          // In ANSWER.md now, where every later run of this clone reads it; kept for a fresh clone.
          pending_answer: undefined,
          last_answer: now.pending_answer ?? now.last_answer,
        });
        out.push(started ?? undefined);
      }
      return out;
    });
  }
}

/**
 * The prompt of a run: the preamble (agents.yaml `dispatch.prompt_template`, else the built-in
 * one) around the task, plus the answer to an earlier question and a note to continue after a
 * usage limit. The `shell` agent runs the task as a script, so it gets the task alone (its
 * scripts can read AGENTIC_CONTINUE instead).
 */
function promptFor(
  file: AgentsFile,
  name: string,
  record: StatusRecord,
  prep: PrepResult,
  resumeSession: string | undefined,
): string {
  if (poolOf(record.agent) === 'shell') return record.task;
  return buildPrompt(file.dispatch.prompt_template, {
    task: record.task,
    branch: prep.branch,
    base: prep.baseRef,
    workspace: name,
    repoDir: prep.repoDir,
    answer: readTextIfExists(join(prep.repoDir, 'ANSWER.md')),
    continueAfterLimit: record.continue_prompt === true,
    resumed: resumeSession !== undefined,
  });
}
