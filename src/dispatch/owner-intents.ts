import type { AppContext } from '../context.js';
import { readRecord } from '../lifecycle/index.js';
import { isoUtc } from '../lib/clock.js';
import { toAgenticError } from '../lib/errors.js';
import { GROUPS, type StateStore, isFleet } from '../store/index.js';
import { poolOf, workspaceDir } from '../workspace/index.js';
import { logPath } from './launch.js';
import { LOG_SLICE_MAX_BYTES, readLogSlice } from './log-slice.js';
import { logRequestSchema, type LogAnswer, type LogRequest } from './log-request.js';
import { terminationRecorded } from './reaper.js';

/** Requests older than this are dropped unanswered: their requester gave up long ago. */
const STALE_MS = 60_000;

/** Least time between two passes over the intents, in ms. */
const MIN_PASS_GAP_MS = 250;

/** What the owner side needs from the runner. */
export interface OwnerIntentsHooks {
  /** The agents this runner watches: workspace and process group. */
  watched(): Array<{ name: string; pid: number }>;
  /** SIGTERM to a watched agent's process group, its SIGKILL deadline recorded. */
  terminate(pgid: number, name: string, reason: string): void;
}

/**
 * The owning node's side of commands given on any node of a fleet. A cancel or kill only
 * records `kill_reason` on the shared record (a pid means nothing on another machine), so the
 * owner's runner, whenever it is woken and on its poll, SIGTERMs each of its own agents whose
 * record asks for it; the intent is durable, so a runner restarted meanwhile acts on it after
 * re-attaching. Log requests addressed to this node are answered with a bounded slice of the
 * log from this node's disk. Off-fleet (one node) there is nothing to do: commands act locally.
 */
export class OwnerIntents {
  private serving: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** `<workspace>#<pgid>` of the agents this runner already sent SIGTERM for a recorded intent. */
  private readonly acted = new Set<string>();
  /** When the last pass started (ms since the epoch). */
  private lastPass = 0;

  constructor(
    private readonly ctx: AppContext,
    private readonly node: string,
    private readonly hooks: OwnerIntentsHooks,
  ) {}

  /** Looks at the shared intents now (coalesced with a pass in progress). */
  wake(): void {
    if (this.closed) return;
    if (this.serving) {
      this.again = true;
      return;
    }
    this.serving = this.serve().finally(() => {
      this.serving = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Stops serving and waits for a pass in progress. */
  async close(): Promise<void> {
    this.closed = true;
    await this.serving;
  }

  private async serve(): Promise<void> {
    try {
      const store = await this.ctx.store();
      if (!isFleet(store)) return;
      // A busy fleet wakes every node at each commit: a pass reads each watched record, so
      // passes are spaced out (a cancel waits at most this much longer).
      const wait = this.lastPass + MIN_PASS_GAP_MS - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.lastPass = Date.now();
      if (this.closed) return;
      await this.actOnKills();
      await this.answerLogRequests(store);
    } catch (err) {
      this.ctx.logger.warn(
        { err: toAgenticError(err).message },
        'fleet intents not served; retrying on the next wake-up',
      );
    }
  }

  /** SIGTERM to each watched agent whose shared record carries a kill reason not acted on yet. */
  private async actOnKills(): Promise<void> {
    const watched = this.hooks.watched();
    const live = new Set(watched.map((w) => `${w.name}#${w.pid}`));
    for (const key of this.acted) if (!live.has(key)) this.acted.delete(key);
    for (const { name, pid } of watched) {
      const key = `${name}#${pid}`;
      if (pid <= 0 || this.acted.has(key)) continue;
      const record = await readRecord(this.ctx, name);
      if (
        record?.status !== 'running' ||
        record.node !== this.node ||
        record.pid !== pid ||
        record.kill_reason === undefined
      )
        continue;
      this.acted.add(key);
      // Signalled already on this machine (a command run on this node, or the run's own timeout).
      if (terminationRecorded(this.ctx.config.coreRoot, pid)) continue;
      this.ctx.logger.info(
        { workspace: name, reason: record.kill_reason },
        'terminating an agent as its shared record asks',
      );
      this.hooks.terminate(pid, name, record.kill_reason);
    }
  }

  /** Answers the log requests addressed to this node; drops any request left stale. */
  private async answerLogRequests(store: StateStore): Promise<void> {
    const now = this.ctx.clock.now().getTime();
    for (const [key, value] of await store.entries(GROUPS.intents)) {
      const parsed = logRequestSchema.safeParse(value);
      if (!parsed.success || now - Date.parse(parsed.data.requested_at) > STALE_MS) {
        await store.delete(GROUPS.intents, key);
        continue;
      }
      const request = parsed.data;
      if (request.node !== this.node || request.answer !== undefined) continue;
      const answer = await this.readFor(request);
      // Only while the requester still waits: a request it removed is not written back.
      await store.transaction(async (tx) => {
        const still = logRequestSchema.safeParse(await tx.get(GROUPS.intents, key));
        if (still.success && still.data.answer === undefined)
          await tx.set(GROUPS.intents, key, { ...still.data, answer });
      });
    }
  }

  /** This node's answer to a log request: at most LOG_SLICE_MAX_BYTES of the log, or why not. */
  private async readFor(request: LogRequest): Promise<LogAnswer> {
    const answeredAt = isoUtc(this.ctx.clock.now());
    try {
      const record = await readRecord(this.ctx, request.workspace);
      if (!record) return { answered_at: answeredAt, error: 'workspace not found' };
      const path = logPath(
        workspaceDir(this.ctx.config.workspaceRoot, request.workspace),
        poolOf(record.agent),
      );
      const slice = readLogSlice(
        path,
        request.from ?? undefined,
        Math.min(request.max_bytes, LOG_SLICE_MAX_BYTES),
      );
      return {
        answered_at: answeredAt,
        path,
        start: slice.start,
        size: slice.size,
        data_b64: slice.data.toString('base64'),
      };
    } catch (err) {
      return { answered_at: answeredAt, error: toAgenticError(err).message };
    }
  }
}
