import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { leaseState, readNodes } from '../fleet/index.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { GROUPS, type StateStore, isFleet } from '../store/index.js';
import { poolOf, workspaceDir, type StatusRecord } from '../workspace/index.js';
import { logPath } from './launch.js';
import { readLogSlice, type LogSlice } from './log-slice.js';

/** How long a requester waits for the owning node's answer (its runner polls every 2 s at worst). */
export const LOG_ANSWER_TIMEOUT_MS = 20_000;

/** What the owning node answers: the slice of its log file, or why it could not read it. */
const logAnswerSchema = z.union([
  z.object({
    answered_at: z.string(),
    path: z.string(),
    start: z.number().int().nonnegative(),
    size: z.number().int().nonnegative(),
    data_b64: z.string(),
  }),
  z.object({ answered_at: z.string(), error: z.string() }),
]);

/**
 * A request in the `intents` group for the log of a workspace kept on node `node` (logs live on
 * the disk of the node that ran the agent), with its answer once that node has written it.
 */
export const logRequestSchema = z.object({
  kind: z.literal('logs'),
  node: z.string(),
  workspace: z.string(),
  /** First byte wanted; null for the last `max_bytes`. */
  from: z.number().int().nonnegative().nullable(),
  max_bytes: z.number().int().positive(),
  requested_at: z.string(),
  /** The requesting node, for an operator reading the group. */
  by: z.string(),
  answer: logAnswerSchema.optional(),
});
/** A validated log request. */
export type LogRequest = z.infer<typeof logRequestSchema>;
/** A validated answer to a log request. */
export type LogAnswer = z.infer<typeof logAnswerSchema>;

/** A log as read for a command: on which node it lives, its path there, and the bytes read. */
export interface WorkspaceLog {
  /** The node whose disk holds the log (undefined for a record never claimed, or off-fleet). */
  node: string | undefined;
  /** True when another node read it and answered through the store. */
  remote: boolean;
  path: string;
  slice: LogSlice;
}

/**
 * The node that must read a record's log when it is not this one: in a fleet, the node that ran
 * (or runs) the agent. Undefined when the log is on this machine.
 */
export function remoteLogNode(
  ctx: AppContext,
  store: StateStore,
  record: StatusRecord,
): string | undefined {
  if (!isFleet(store) || record.node === undefined || record.node === ctx.config.nodeId)
    return undefined;
  return record.node;
}

/**
 * Reads at most `maxBytes` of a workspace's log from byte `from` (its tail when undefined),
 * here or, in a fleet, through the owning node. Throws NODE_UNAVAILABLE when that node is not
 * live or does not answer within {@link LOG_ANSWER_TIMEOUT_MS}.
 */
export async function readWorkspaceLog(
  ctx: AppContext,
  name: string,
  record: StatusRecord,
  options: { from?: number | undefined; maxBytes: number },
): Promise<WorkspaceLog> {
  const store = await ctx.store();
  const node = remoteLogNode(ctx, store, record);
  if (node === undefined) {
    const path = logPath(workspaceDir(ctx.config.workspaceRoot, name), poolOf(record.agent));
    return {
      node: record.node,
      remote: false,
      path,
      slice: readLogSlice(path, options.from, options.maxBytes),
    };
  }
  const answer = await askOwner(ctx, store, node, {
    workspace: name,
    from: options.from ?? null,
    max_bytes: options.maxBytes,
  });
  if ('error' in answer)
    throw new AgenticError(
      'IO_FAILED',
      `node ${node} could not read the log of ${name}: ${answer.error}`,
    );
  return {
    node,
    remote: true,
    path: answer.path,
    slice: {
      data: Buffer.from(answer.data_b64, 'base64'),
      start: answer.start,
      size: answer.size,
    },
  };
}

/** Throws NODE_UNAVAILABLE unless `node` holds a live lease in the node registry. */
async function requireLive(ctx: AppContext, store: StateStore, node: string): Promise<void> {
  const entry = (await readNodes(store)).find((n) => n.node_id === node);
  if (entry === undefined || leaseState(entry, ctx.clock.now()) !== 'live')
    throw new AgenticError(
      'NODE_UNAVAILABLE',
      `node ${node} is not live; its logs are on that machine (read them there, or start its daemon)`,
    );
}

/** Writes a log request for `node`, wakes the fleet and waits for the answer; the entry is removed either way. */
async function askOwner(
  ctx: AppContext,
  store: StateStore,
  node: string,
  want: Pick<LogRequest, 'workspace' | 'from' | 'max_bytes'>,
): Promise<LogAnswer> {
  await requireLive(ctx, store, node);
  const key = `${node}/${randomUUID()}`;
  const request: LogRequest = {
    kind: 'logs',
    node,
    ...want,
    requested_at: isoUtc(ctx.clock.now()),
    by: ctx.config.nodeId,
  };
  await store.set(GROUPS.intents, key, request);
  try {
    await store.notifyWake?.();
    const deadline = Date.now() + LOG_ANSWER_TIMEOUT_MS;
    let nextLivenessCheck = Date.now() + 1_000;
    for (;;) {
      const parsed = logRequestSchema.safeParse(await store.get(GROUPS.intents, key));
      if (parsed.success && parsed.data.answer !== undefined) return parsed.data.answer;
      if (Date.now() >= deadline)
        throw new AgenticError(
          'NODE_UNAVAILABLE',
          `node ${node} did not answer within ${LOG_ANSWER_TIMEOUT_MS / 1000} s; its logs are on that machine`,
        );
      if (Date.now() >= nextLivenessCheck) {
        await requireLive(ctx, store, node);
        nextLivenessCheck = Date.now() + 1_000;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await store.delete(GROUPS.intents, key).catch(() => undefined);
  }
}
