import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { commitWorkspace } from '../lifecycle/commit.js';
import { readAllRecords, readRecord, recordInTx, trackInTransaction } from '../lifecycle/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/fs.js';
import { poolOf, workspaceDir, type StatusRecord } from '../workspace/index.js';
import { validateAgent } from './agents.js';
import { setFrozen } from './frozen.js';
import { terminateGroup } from './reaper.js';
import { wakeRunner } from './wake.js';
import { isFleet } from '../store/index.js';
import { setAsideBlocked } from './resume-files.js';

export { setAsideBlocked } from './resume-files.js';

/**
 * Puts a blocked, failed, completed or cancelled workspace back in the queue. An answer is kept
 * on the record until the next run starts: the node that starts it writes `repo/ANSWER.md` and
 * sets a previous BLOCKED.md aside in `.meta/` first (so the next run does not block on the same
 * question), since in a fleet the clone may be on another node than this one; here the files
 * are written at once when the clone is on this node's disk. In a fleet the workspace is pinned
 * to the node holding its clone. Throws WORKSPACE_NOT_FOUND or STATE_CONFLICT.
 */
export async function resumeWorkspace(
  ctx: AppContext,
  name: string,
  options: { answer?: string | undefined; agent?: string | undefined },
): Promise<StatusRecord> {
  if (options.agent !== undefined) validateAgent(ctx.config.file, options.agent);
  const existing = await requireRecord(ctx, name);
  nextStatus(existing.status, 'resume');
  const fleet = isFleet(await ctx.store());
  // The clone is on this node's disk: its files are written now, as before fleets, and before
  // the record is queued, so the run (which writes them again from the record) finds them done.
  if (!fleet || (existing.node ?? existing.node_affinity) === ctx.config.nodeId) {
    const dir = workspaceDir(ctx.config.workspaceRoot, name);
    setAsideBlocked(dir, existing.runs);
    if (options.answer !== undefined && existsSync(join(dir, 'repo')))
      writeFileAtomic(join(dir, 'repo', 'ANSWER.md'), `${options.answer}\n`);
  }
  const record = await trackInTransaction(ctx, async (track, tx) => {
    const current = await recordInTx(tx, name);
    if (!current)
      throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
        field: 'workspace',
      });
    const now = isoUtc(ctx.clock.now());
    const { question: _q, exit_code: _e, ...rest } = current;
    // A blocked run stopped to ask: its conversation is continued with the answer when the same
    // CLI runs again (the runner falls back to a fresh run for a CLI that cannot resume).
    const sameCli = options.agent === undefined || poolOf(options.agent) === poolOf(current.agent);
    const resume =
      current.status === 'blocked' && sameCli && current.session_id !== undefined
        ? current.session_id
        : undefined;
    return track(name, {
      ...rest,
      status: nextStatus(current.status, 'resume'),
      queued_at: now,
      resume_session: resume,
      ...(fleet ? resumePin(current) : {}),
      ...(options.answer !== undefined ? { pending_answer: options.answer } : {}),
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
    });
  });
  await wakeRunner(ctx.config.coreRoot);
  if (!record) throw new AgenticError('INTERNAL', 'resume produced no record');
  return record;
}

/**
 * The pin of a resumed fleet record: the clone, with the previous runs' commits, lives on the
 * node that ran it, so the resumed run goes there rather than starting over from the source
 * elsewhere. A pin made only for that reason is marked so: should that node be lost before the
 * run starts, its takeover drops the pin (src/fleet/takeover.ts). An earlier pin (`--node`, a
 * local path) is kept as it was.
 */
function resumePin(
  current: StatusRecord,
): Pick<StatusRecord, 'node_affinity' | 'affinity_reason'> | undefined {
  const pin = current.node ?? current.node_affinity;
  if (pin === undefined) return undefined;
  const forWorkspace =
    current.node_affinity === undefined || current.affinity_reason === 'workspace';
  return { node_affinity: pin, affinity_reason: forWorkspace ? 'workspace' : undefined };
}

/**
 * Cancels a workspace: queued → cancelled at once; running → its process group gets SIGTERM
 * and the runner records `cancelled` when it ends; blocked/failed → cancelled.
 */
export async function cancelWorkspace(ctx: AppContext, name: string): Promise<StatusRecord> {
  await requireRecord(ctx, name);
  const result = await trackInTransaction(ctx, async (track, tx) => {
    const current = await recordInTx(tx, name);
    if (!current)
      throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
        field: 'workspace',
      });
    if (current.status === 'running')
      return { record: await track(name, { ...current, kill_reason: 'cancel' }), running: current };
    return {
      record: await track(name, {
        ...current,
        status: nextStatus(current.status, 'cancel'),
        question: 'cancelled',
      }),
      running: undefined,
    };
  });
  if (result.running !== undefined) await terminateAgent(ctx, result.running, name, 'cancel');
  else if (result.record?.status === 'cancelled') await commitWorkspace(ctx, name);
  await wakeOwners(ctx);
  if (!result.record) throw new AgenticError('INTERNAL', 'cancel produced no record');
  return result.record;
}

/**
 * `agentic kill`: freezes dispatching, terminates running agents (they end `failed` "killed by
 * operator") and cancels queued work (kept and journaled, never deleted). Returns the counts.
 */
export async function killAll(ctx: AppContext): Promise<{ killed: string[]; cancelled: string[] }> {
  await setFrozen(ctx, true);
  const killed: string[] = [];
  const cancelled: string[] = [];
  for (const [name] of await readAllRecords(ctx)) {
    const outcome = await trackInTransaction(ctx, async (track, tx) => {
      const r = await recordInTx(tx, name);
      if (r?.status === 'running') {
        await track(name, { ...r, kill_reason: 'operator' });
        return { running: r, cancelled: false };
      }
      if (r?.status === 'queued') {
        await track(name, {
          ...r,
          status: nextStatus('queued', 'kill'),
          question: 'killed by operator',
        });
        return { running: undefined, cancelled: true };
      }
      return undefined;
    });
    if (outcome?.cancelled) {
      cancelled.push(name);
      await commitWorkspace(ctx, name);
    } else if (outcome) {
      killed.push(name);
      if (outcome.running !== undefined)
        await terminateAgent(ctx, outcome.running, name, 'operator');
    }
  }
  await wakeOwners(ctx);
  return { killed, cancelled };
}

/**
 * SIGTERM to a running agent's process group, its SIGKILL deadline recorded for whichever
 * process enforces it first. In a fleet only the owning node may signal: another node's pid
 * number means nothing here (the owner acts on the recorded kill reason).
 */
async function terminateAgent(
  ctx: AppContext,
  record: { pid?: number | undefined; node?: string | undefined },
  name: string,
  reason: string,
): Promise<void> {
  const pgid = record.pid;
  if (pgid === undefined) return;
  if (isFleet(await ctx.store()) && record.node !== ctx.config.nodeId) return;
  terminateGroup(pgid, {
    coreRoot: ctx.config.coreRoot,
    graceSeconds: ctx.config.file.dispatch.kill_grace_seconds,
    now: ctx.clock.now(),
    workspace: name,
    reason,
    logger: ctx.logger,
  });
}

/**
 * Wakes this node's runner and, in a fleet, every node's: the owner of a running record that
 * now carries a kill reason terminates its agent (its poll does too, should the wake-up be lost).
 */
async function wakeOwners(ctx: AppContext): Promise<void> {
  await wakeRunner(ctx.config.coreRoot);
  await (
    await ctx.store()
  )
    .notifyWake?.()
    .catch((err: unknown) =>
      ctx.logger.warn({ err: (err as Error).message }, 'fleet wake-up not sent'),
    );
}

/** Reads a record; throws WORKSPACE_NOT_FOUND naming the workspace when there is none. */
export async function requireRecord(ctx: AppContext, name: string): Promise<StatusRecord> {
  const record = await readRecord(ctx, name);
  if (!record)
    throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
      field: 'workspace',
    });
  return record;
}
