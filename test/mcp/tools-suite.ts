import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { makeSourceRepo, waitUntil } from '../helpers/dispatch.js';
import { callError, callOk, untilRunning, untilStatus, type Harness } from './fixture.js';

/** A server under test: connect a client to a fresh CoreRoot; `stop` ends the server. */
export interface Transport {
  connect(root: TempRoot): Promise<Harness>;
  stop?(): Promise<void>;
}

const TOOLS = [
  'agentic_accept',
  'agentic_cancel',
  'agentic_commit',
  'agentic_create_pr',
  'agentic_diff',
  'agentic_dispatch',
  'agentic_dispatch_shutdown',
  'agentic_dispatch_shutdown_now',
  'agentic_dispatch_start',
  'agentic_logs',
  'agentic_pr_status',
  'agentic_reject',
  'agentic_resume',
  'agentic_review',
  'agentic_status',
  'agentic_sync_pull',
  'agentic_sync_push',
  'agentic_sync_status',
  'agentic_workspace_stats',
];

interface Dispatched {
  success: boolean;
  workspace: string;
  status: string;
  agent: string;
}

/** The behaviour every transport must show, run once per transport against a real server process. */
export function describeTools(label: string, transport: Transport): void {
  describe(`MCP tools over ${label}`, () => {
    let root: TempRoot;
    let repo: string;
    let h: Harness;

    beforeAll(async () => {
      root = tempRoot('agentic-mcp-');
      repo = makeSourceRepo(root);
      h = await transport.connect(root);
    });
    afterAll(async () => {
      await h?.close();
      await transport.stop?.();
      root?.cleanup();
    });

    const dispatch = (task: string, extra: Record<string, unknown> = {}): Promise<Dispatched> =>
      callOk<Dispatched>(h, 'agentic_dispatch', { repo, agent: 'shell', task, ...extra });
    const noticeFor = (workspace: string, status: string) =>
      waitUntil(`a ${status} notification for ${workspace}`, () =>
        h.notices.find((n) => n.workspace === workspace && n.status === status),
      );

    it('lists every tool with a description and described input schemas', async () => {
      const { tools } = await h.client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
      for (const tool of tools) {
        expect(tool.description, tool.name).toBeTruthy();
        expect(tool.inputSchema.type).toBe('object');
        expect(tool.outputSchema?.type, tool.name).toBe('object');
        for (const [arg, schema] of Object.entries(tool.inputSchema.properties ?? {}))
          expect(
            (schema as { description?: string }).description,
            `${tool.name}.${arg}`,
          ).toBeTruthy();
      }
      const dispatchTool = tools.find((t) => t.name === 'agentic_dispatch');
      expect(dispatchTool?.inputSchema.required?.sort()).toEqual(['repo', 'task']);
      expect(Object.keys(dispatchTool?.inputSchema.properties ?? {}).sort()).toEqual(
        [
          'agent',
          'base',
          'branch',
          'deliver',
          'issue',
          'name',
          'node',
          'org',
          'pr',
          'priority',
          'repo',
          'task',
        ].sort(),
      );
    });

    it('dispatches a shell task, sees it complete through agentic_status and notifies this client', async () => {
      const d = await dispatch('echo hi from the worker');
      expect(d).toMatchObject({ success: true, status: 'queued', agent: 'shell' });
      expect(d.workspace).toMatch(/^core\/demo-repo\//);
      const row = await untilStatus(h, d.workspace, 'completed');
      expect(row.runs).toBe(1);
      const notice = await noticeFor(d.workspace, 'completed');
      expect(notice).toMatchObject({ event: 'dispatch_finished', question: null });
      const logs = await callOk<{ text: string; lines: number }>(h, 'agentic_logs', {
        workspace: d.workspace,
        tail: 5,
      });
      expect(logs.text).toContain('hi from the worker');
    });

    it("surfaces a blocked agent's question and continues it after agentic_resume with an answer", async () => {
      const d = await dispatch(
        'if [ -f ANSWER.md ]; then cat ANSWER.md; exit 0; fi; printf "which database?" > BLOCKED.md',
      );
      await untilStatus(h, d.workspace, 'blocked');
      const status = await callOk<{ blocked: Array<{ name: string; question: string }> }>(
        h,
        'agentic_status',
        {},
      );
      expect(status.blocked).toContainEqual(
        expect.objectContaining({ name: d.workspace, question: 'which database?' }),
      );
      expect(await noticeFor(d.workspace, 'blocked')).toMatchObject({
        question: 'which database?',
      });
      const resumed = await callOk<Dispatched>(h, 'agentic_resume', {
        workspace: d.workspace,
        answer: 'PostgreSQL',
      });
      expect(resumed).toMatchObject({ success: true, status: 'queued' });
      const row = await untilStatus(h, d.workspace, 'completed');
      expect(row.runs).toBe(2);
      await noticeFor(d.workspace, 'completed');
      const logs = await callOk<{ text: string }>(h, 'agentic_logs', { workspace: d.workspace });
      expect(logs.text).toContain('PostgreSQL');
    });

    it('reviews, diffs, accepts and rejects finished work', async () => {
      const a = await dispatch('echo reviewed > reviewed.txt');
      const b = await dispatch('echo unwanted > unwanted.txt');
      // The notification comes once the closeout (harvest, QA, hand-back) is done.
      await noticeFor(a.workspace, 'completed');
      await noticeFor(b.workspace, 'completed');
      const review = await callOk<{ workspaces: Array<{ workspace: string; changes: unknown }> }>(
        h,
        'agentic_review',
        {},
      );
      const mine = review.workspaces.filter((w) =>
        [a.workspace, b.workspace].includes(w.workspace),
      );
      expect(mine).toHaveLength(2);
      expect(mine[0]?.changes).toMatchObject({ commits: 1, files_changed: 1 });
      const diff = await callOk<{ diff: string; truncated: boolean }>(h, 'agentic_diff', {
        workspace: a.workspace,
      });
      expect(diff.diff).toContain('+reviewed');
      expect(diff.truncated).toBe(false);
      const accepted = await callOk<{
        status: string;
        merged: boolean;
        delivered: { ref: string };
      }>(h, 'agentic_accept', { workspace: a.workspace });
      expect(accepted).toMatchObject({ success: true, status: 'completed', merged: false });
      expect(accepted.delivered.ref).toMatch(/^refs\/heads\/agent\//);
      const rejected = await callOk<{ status: string; question: string }>(h, 'agentic_reject', {
        workspace: b.workspace,
        reason: 'not needed',
      });
      expect(rejected).toMatchObject({ status: 'cancelled', question: 'rejected: not needed' });
      const after = await callOk<{ workspaces: Array<{ workspace: string }> }>(
        h,
        'agentic_review',
        {},
      );
      expect(after.workspaces.map((w) => w.workspace)).not.toContain(a.workspace);
      expect(after.workspaces.map((w) => w.workspace)).not.toContain(b.workspace);
      const again = await callError(h, 'agentic_accept', { workspace: b.workspace });
      expect(again).toContain('[STATE_CONFLICT]');
    });

    it('reports agentic_commit as skipped after the automatic commit', async () => {
      const d = await dispatch('true');
      await untilStatus(h, d.workspace, 'completed');
      // The runner commits right after recording the status; wait for its marker.
      const marker = join(root.coreRoot, 'workspace', d.workspace, '.meta', 'commit.json');
      await waitUntil('the automatic commit', () => existsSync(marker));
      const commit = await callOk<{ skipped: boolean; journal_path: string; workspace: string }>(
        h,
        'agentic_commit',
        { workspace: d.workspace },
      );
      expect(commit).toMatchObject({ success: true, workspace: d.workspace, skipped: true });
      expect(commit.journal_path).toMatch(/\.meta\/journal\.jsonl$/);
    });

    it('cancels a running task', async () => {
      const d = await dispatch('sleep 30');
      await untilRunning(h, d.workspace);
      const cancel = await callOk<{ status: string }>(h, 'agentic_cancel', {
        workspace: d.workspace,
      });
      expect(cancel.status).toBe('running');
      // A SIGTERM that lands while the wrapper forks the agent is absorbed (docs/RELIABILITY.md);
      // the SIGKILL deadline (kill_grace_seconds, 30 s) still ends the run, cancelled.
      await untilStatus(h, d.workspace, 'cancelled', 60_000);
      await noticeFor(d.workspace, 'cancelled');
    }, 90_000);

    it('freezes, kills and restarts dispatching', async () => {
      const d = await dispatch('sleep 30');
      await untilRunning(h, d.workspace);
      const frozen = await callOk<{ running: number }>(h, 'agentic_dispatch_shutdown');
      expect(frozen).toMatchObject({ success: true, running: 1 });
      const killed = await callOk<{ message: string }>(h, 'agentic_dispatch_shutdown_now');
      expect(killed.message).toContain('terminating 1 running');
      const row = await untilStatus(h, d.workspace, 'failed');
      expect(row.question).toBe('killed by operator');
      const started = await callOk<{ message: string; running: number; queued: number }>(
        h,
        'agentic_dispatch_start',
      );
      expect(started).toMatchObject({ success: true, running: 0, queued: 0 });
      const after = await dispatch('true');
      await untilStatus(h, after.workspace, 'completed');
    });

    it('reports statistics of committed dispatches', async () => {
      const stats = await callOk<{
        summary: { count: number; by_outcome: Record<string, number> };
        rows: Array<{ outcome: string; agent: string }>;
      }>(h, 'agentic_workspace_stats', { status: 'completed' });
      expect(stats.summary.by_outcome['completed']).toBeGreaterThanOrEqual(3);
      expect(stats.rows.every((r) => r.outcome === 'completed' && r.agent === 'shell')).toBe(true);
    });

    it('runs the sync tools offline: push queues, pull serves the cache, status says offline', async () => {
      const push = await callOk<{
        success: boolean;
        count: number;
        queued: number;
        offline: string;
      }>(h, 'agentic_sync_push', {});
      expect(push).toMatchObject({ success: true, count: 0, offline: 'no token' });
      expect(push.queued).toBeGreaterThan(0);
      const pull = await callOk<{ source: string; count: number; context: unknown[] }>(
        h,
        'agentic_sync_pull',
        {},
      );
      expect(pull).toMatchObject({ success: true, source: 'cache', count: 0, context: [] });
      const status = await callOk<{ status: string; queued: number }>(h, 'agentic_sync_status');
      expect(status).toMatchObject({ status: 'offline', queued: push.queued });
    });

    it('refuses hostile values: branch HEAD, a 10,000-character model, bidi and lone-surrogate names', async () => {
      const before = (await callOk<{ total: number }>(h, 'agentic_status')).total;
      expect(await callError(h, 'agentic_dispatch', { repo, task: 'x', branch: 'HEAD' })).toMatch(
        /^branch: .*special ref/,
      );
      expect(
        await callError(h, 'agentic_dispatch', {
          repo,
          task: 'x',
          agent: `shell:${'m'.repeat(10_000)}`,
        }),
      ).toMatch(/^agent: .*at most 200 characters/);
      expect(
        await callError(h, 'agentic_dispatch', { repo, task: 'x', name: 'evil\u202etxt.exe' }),
      ).toMatch(/bidi/);
      expect(await callError(h, 'agentic_dispatch', { repo, task: 'x', org: 'a\ud800' })).toMatch(
        /^org: .*lone surrogates/,
      );
      expect(await callError(h, 'agentic_status', { workspace: 'core/x\u202e/task-1' })).toMatch(
        /bidi/,
      );
      expect((await callOk<{ total: number }>(h, 'agentic_status')).total).toBe(before);
    });

    it('agentic_status with a workspace counts that workspace only, and fails for an unknown one', async () => {
      const all = await callOk<{
        total: number;
        workspaces: Array<{ name: string; status: string }>;
      }>(h, 'agentic_status', {});
      expect(all.total).toBeGreaterThan(1);
      const [first] = all.workspaces;
      if (!first) throw new Error('no workspace to filter on');
      const one = await callOk<Record<string, unknown>>(h, 'agentic_status', {
        workspace: first.name,
      });
      expect(one).toMatchObject({ total: 1, workspaces: [{ name: first.name }] });
      if (first.status !== 'blocked') expect(one[first.status]).toBe(1);
      expect(
        await callError(h, 'agentic_status', { workspace: 'core/no-such-repo/task-1' }),
      ).toMatch(/WORKSPACE_NOT_FOUND/);
    });

    it('answers bad arguments with an isError result naming the field', async () => {
      expect(await callError(h, 'agentic_dispatch', { repo, task: 'x', org: '../x' })).toMatch(
        /^org: must not contain a path separator/,
      );
      expect(
        await callError(h, 'agentic_dispatch', { repo, task: 'x', agent: 'no-such-agent' }),
      ).toMatch(/^agent: unknown agent "no-such-agent"/);
      expect(await callError(h, 'agentic_dispatch', { repo })).toMatch(/\bat task$/);
      expect(await callError(h, 'agentic_dispatch', { repo, task: 'x', priority: 5000 })).toMatch(
        /\bat priority$/,
      );
      expect(await callError(h, 'agentic_resume', { workspace: '../etc' })).toMatch(
        /^workspace: must look like org\/repo\/leaf/,
      );
      expect(await callError(h, 'agentic_logs', { workspace: 'core/nope/task-1' })).toMatch(
        /^workspace: not found: core\/nope\/task-1 \[WORKSPACE_NOT_FOUND\]$/,
      );
      expect(await callError(h, 'agentic_sync_pull', { since: 'yesterday' })).toMatch(/^since: /);
      // The server is still there and answering.
      expect((await callOk<{ total: number }>(h, 'agentic_status')).total).toBeGreaterThan(0);
    });
  });
}
