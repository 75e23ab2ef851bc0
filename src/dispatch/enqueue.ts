import { mkdirSync } from 'node:fs';
import type { AppContext } from '../context.js';
import { recordInTx, trackInTransaction } from '../lifecycle/index.js';
import { nextStatus } from '../lifecycle/transitions.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { parseInput } from '../lib/parse-input.js';
import { runGit } from '../lib/git.js';
import {
  isSettled,
  isTerminal,
  leafFor,
  validateBranch,
  validateSegment,
  workspaceDir,
  workspaceName,
  type StatusRecord,
} from '../workspace/index.js';
import { validateAgent } from './agents.js';
import { dispatchInputSchema, type DispatchInput } from './dispatch-input.js';
import { setAsideBlocked } from './control.js';
import { parseRepoSource, slugify } from './repo-source.js';
import { wakeRunner } from './wake.js';
import { isFleet } from '../store/index.js';

/**
 * Validates a dispatch and queues it: creates the workspace directory and a `queued` record
 * (through trackWorkspace), then wakes the runner. Nothing is created when any input is bad
 * (INPUT_INVALID / WORKSPACE_NAME_INVALID / AGENT_NOT_FOUND, naming the field).
 *
 * The same `--issue` (or `--pr`, or `--branch`) always names the same workspace. While that
 * workspace is queued or running, dispatching into it is a STATE_CONFLICT naming it and its
 * status. Once it has ended, the dispatch continues it: same clone, same branch (its commits
 * kept), the next run number; `continued` says so, and the caller must tell the user. A
 * `--branch` other than the one the workspace works on is refused, since the new branch would
 * start from the old one's commits.
 */
export async function enqueueDispatch(
  ctx: AppContext,
  raw: DispatchInput,
): Promise<{ workspace: string; record: StatusRecord; continued?: Continued }> {
  const { cwd, ...fields } = raw;
  const input = parseInput(dispatchInputSchema, fields);
  const task = input.task;
  const agent = validateAgent(
    ctx.config.file,
    input.agent ?? ctx.config.file.dispatch.default_agent,
  );
  const org = validateSegment('org', input.org ?? ctx.config.file.dispatch.default_org);
  if (input.name !== undefined) validateSegment('name', input.name);
  if (input.branch !== undefined) validateBranch(input.branch);
  const priority = input.priority ?? 0;
  if (input.base !== undefined) validateBranch(input.base, 'base');
  const source = parseRepoSource(input.repo, cwd ?? process.cwd());
  const fleet = isFleet(await ctx.store());
  if (input.node !== undefined && !fleet && input.node !== ctx.config.nodeId)
    throw new AgenticError(
      'INPUT_INVALID',
      `node ${JSON.stringify(input.node)} is not this node (${ctx.config.nodeId}): the embedded store has one node; pinning to another needs a fleet sharing a PostgreSQL store (CORE_AGENT_STORE_URL)`,
      { field: 'node' },
    );
  if (input.base !== undefined && source.kind === 'local')
    await requireCommit(source.location, input.base, ctx.config.childEnv);
  const repo = input.name ?? source.name;
  const leaf = leafFor({ pr: input.pr, issue: input.issue, branch: input.branch });
  const name = workspaceName({ org, repo, leaf });
  const newBranch = input.branch ?? `agent/${slugify(task)}`;
  validateBranch(newBranch);

  const dir = workspaceDir(ctx.config.workspaceRoot, name);
  mkdirSync(dir, { recursive: true });
  const now = isoUtc(ctx.clock.now());
  let continued: Continued | undefined;
  const record = await trackInTransaction(ctx, async (track, tx) => {
    const existing = await recordInTx(tx, name);
    if (existing) refuseBusyOrOtherBranch(name, existing, input);
    const next = existing ? nextStatus(existing.status, 'enqueue') : 'queued';
    // A finished workspace is continued on its own branch, from the base it started on.
    const branch = existing?.branch ?? newBranch;
    const keepBase = existing !== undefined && input.base === undefined;
    continued = existing && {
      previous_status: existing.status,
      runs: existing.runs,
      branch: existing.branch,
    };
    const base: StatusRecord = {
      status: next,
      agent,
      repo,
      org,
      task,
      branch,
      runs: existing?.runs ?? 0,
      priority,
      updated_at: now,
      queued_at: now,
      source: source.location,
      ...(input.base !== undefined ? { base_ref: input.base } : {}),
      ...(keepBase && existing.base_ref !== undefined ? { base_ref: existing.base_ref } : {}),
      ...(keepBase && existing.base_sha !== undefined ? { base_sha: existing.base_sha } : {}),
      ...(input.deliver !== undefined ? { deliver: input.deliver } : {}),
      ...placement(ctx.config.nodeId, fleet, input.node, source.kind, existing),
      ...(input.issue !== undefined ? { issue: input.issue } : {}),
      ...(input.pr !== undefined ? { pr: input.pr } : {}),
      // Fleet fencing: the epoch of a record never goes back.
      ...(existing?.epoch !== undefined ? { epoch: existing.epoch } : {}),
    };
    return track(name, base);
  });
  if (record === null) throw new AgenticError('INTERNAL', 'enqueue produced no record');
  // The last run's question must not end the next one: set aside as `resume` does.
  if (continued) setAsideBlocked(dir, continued.runs);
  await wakeRunner(ctx.config.coreRoot);
  return continued ? { workspace: name, record, continued } : { workspace: name, record };
}

/**
 * Where a queued dispatch may run, as a `node_affinity` to spread into the record. Only a fleet
 * pins: `--node` first; then a continued workspace's node, which holds its clone and commits;
 * then this node for a local path, which exists only here. A URL runs anywhere. The embedded
 * store has one node and records no pin: its node id may change with the hostname.
 */
function placement(
  self: string,
  fleet: boolean,
  requested: string | undefined,
  kind: 'local' | 'url',
  existing: StatusRecord | undefined,
): Pick<StatusRecord, 'node_affinity' | 'affinity_reason'> {
  if (!fleet) return {};
  if (requested !== undefined) return { node_affinity: requested };
  // Pinned only for its clone (a URL source): a takeover of that node may move it, as a resume's.
  if (existing?.node !== undefined)
    return kind === 'url'
      ? { node_affinity: existing.node, affinity_reason: 'workspace' }
      : { node_affinity: existing.node };
  return kind === 'local' ? { node_affinity: self } : {};
}

/** What a dispatch into an existing, finished workspace continues. */
export interface Continued {
  /** The status the workspace had ended in. */
  previous_status: StatusRecord['status'];
  /** Runs it had made; the next run is this plus one. */
  runs: number;
  /** The branch the next run continues on, with its commits. */
  branch: string;
}

/** One line telling the user that a dispatch continues an existing workspace. */
export function continuedNote(workspace: string, c: Continued): string {
  return `continues ${workspace} (it was ${c.previous_status} after ${c.runs} run${c.runs === 1 ? '' : 's'}) on its branch ${c.branch} with its commits: run ${c.runs + 1}`;
}

/** Throws STATE_CONFLICT when the workspace is still queued or running, or works on another branch. */
function refuseBusyOrOtherBranch(name: string, existing: StatusRecord, input: DispatchInput): void {
  const which =
    input.issue !== undefined
      ? ` for issue ${input.issue}`
      : input.pr !== undefined
        ? ` for PR ${input.pr}`
        : '';
  if (!isSettled(existing)) {
    const state = isTerminal(existing.status)
      ? `${existing.status}, its closeout (QA, hand-back) still running`
      : existing.status;
    throw new AgenticError(
      'STATE_CONFLICT',
      `workspace ${name}${which} is still ${state}; wait for it to end or \`agentic cancel ${name}\`, then dispatch again to continue it`,
      { field: 'workspace' },
    );
  }
  if (input.branch !== undefined && input.branch !== existing.branch)
    throw new AgenticError(
      'STATE_CONFLICT',
      `workspace ${name}${which} works on branch ${existing.branch}; a dispatch there continues that branch, so --branch ${input.branch} would start on top of its commits. Leave out --branch to continue it, or dispatch without --issue/--pr for a separate workspace`,
      { field: 'branch' },
    );
}

/** Checks that `ref` names a commit of a local source; throws INPUT_INVALID naming `base`. */
async function requireCommit(
  repo: string,
  ref: string,
  env: Readonly<Record<string, string>>,
): Promise<void> {
  await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], repo, env).catch(() => {
    throw new AgenticError(
      'INPUT_INVALID',
      `base ${JSON.stringify(ref)} is neither a branch nor a commit of ${repo}`,
      { field: 'base' },
    );
  });
}
