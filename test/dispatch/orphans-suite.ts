import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { readRecord } from '../../src/lifecycle/index.js';
import { cgroupBase, runCgroup } from '../../src/lib/cgroup.js';
import { json, runCli } from '../helpers/cli.js';
import { testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import {
  GIT_ENV,
  makeSourceRepo,
  startDaemon,
  waitUntil,
  writeAgentsYaml,
  type Daemon,
} from '../helpers/dispatch.js';

/** True while `pid` exists (signal 0 only asks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Which tests of the suite a file runs: the SIGKILL a new daemon owes after a restart, or the
 * kills of `agentic kill`. Split over two files so the test workers share them, each on every
 * engine.
 */
export type OrphansPart = 'restart' | 'kill';

/** Registers the grace-period tests of `part`, on SQLite and (when its cluster is up) PostgreSQL. */
export function describeOrphans(part: OrphansPart): void {
  describe.each(engines())(
    `no agent process outlives its grace period (${part}) on $name`,
    (engine) => {
      let root: TempRoot;
      let repo: string;
      let env: Record<string, string>;
      let daemon: Daemon | undefined;
      let ctx: AppContext | undefined;
      let grandchild: number | undefined;

      beforeEach(async () => {
        root = await tempRootOn(engine);
        repo = makeSourceRepo(root);
        env = { ...root.env, ...GIT_ENV };
      });
      afterEach(async () => {
        await daemon?.stop('SIGKILL');
        daemon = undefined;
        // A failing test must not leave its sleeper behind.
        if (grandchild !== undefined && alive(grandchild)) process.kill(grandchild, 'SIGKILL');
        grandchild = undefined;
        await ctx?.close();
        ctx = undefined;
        root.cleanup();
      });

      const pidFile = (): string => join(root.coreRoot, 'grandchild.pid');
      /** A shell agent whose child ignores SIGTERM; the agent itself waits for it. */
      const stubbornTask = (): string =>
        `sh -c 'trap "" TERM; sleep 1000' & echo $! > ${pidFile()}; wait`;
      const dispatch = async (): Promise<string> => {
        const res = await runCli(
          ['dispatch', '--repo', repo, '--agent', 'shell', '--task', stubbornTask(), '--json'],
          env,
        );
        expect(res.code, res.stderr).toBe(0);
        return String(json(res)['workspace']);
      };
      const readGrandchild = (): Promise<number> =>
        waitUntil(
          'the grandchild to start',
          () => {
            const text = existsSync(pidFile()) ? readFileSync(pidFile(), 'utf8').trim() : '';
            return /^\d+$/.test(text) ? Number(text) : undefined;
          },
          30_000,
        );

      if (part === 'restart')
        it('kills a grandchild that ignores SIGTERM after a timeout, though the daemon stopped within the grace period, once a new daemon starts', async () => {
          writeAgentsYaml(root, 'dispatch:\n  timeout_minutes: 0.02\n  kill_grace_seconds: 10\n');
          daemon = await startDaemon(root);
          const workspace = await dispatch();
          grandchild = await readGrandchild();
          const c = (ctx = testContext(root));
          await waitUntil(
            'the run to time out',
            async () => (await readRecord(c, workspace))?.status === 'failed',
            30_000,
          );
          await daemon.stop('SIGTERM');
          daemon = undefined;
          // Within the grace period the grandchild, which ignores SIGTERM, is still there.
          expect(alive(grandchild)).toBe(true);
          daemon = await startDaemon(root);
          const pid = grandchild;
          await waitUntil('the grandchild to be killed', () => !alive(pid), 30_000);
          expect(await readRecord(c, workspace)).toMatchObject({
            status: 'failed',
            question: 'agent timed out after 0.02m',
          });
          // Two daemon starts and a 10 s grace period: more than the default 30 s on a loaded machine.
        }, 120_000);

      if (part === 'kill') {
        it('agentic kill with no daemon up waits out the grace period, SIGKILLs the grandchild and records the run', async () => {
          writeAgentsYaml(root, 'dispatch:\n  kill_grace_seconds: 2\n');
          daemon = await startDaemon(root);
          const workspace = await dispatch();
          grandchild = await readGrandchild();
          const c = (ctx = testContext(root));
          await waitUntil(
            'the agent pid to be recorded',
            async () => (await readRecord(c, workspace))?.pid !== undefined,
            30_000,
          );
          // SIGTERM stops the daemon and leaves the agent running.
          await daemon.stop('SIGTERM');
          daemon = undefined;
          expect(alive(grandchild)).toBe(true);

          const started = Date.now();
          const res = await runCli(['kill', '--json'], env);
          expect(res.code, res.stderr).toBe(0);
          expect(json(res)).toMatchObject({ killed: [workspace], runner_running: false });
          expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
          const pid = grandchild;
          await waitUntil('the grandchild to be gone', () => !alive(pid), 30_000);
          // The command recorded the end itself; no runner had to.
          expect(await readRecord(c, workspace)).toMatchObject({
            status: 'failed',
            question: 'killed by operator',
          });
          expect((await readRecord(c, workspace))?.pid).toBeUndefined();
        }, 120_000);

        it("kills a process that left the group with setsid, through the run's cgroup, and removes the cgroup", async () => {
          if (cgroupBase() === undefined) {
            // CI must prove it; elsewhere (no cgroup v2 we may write to) the process group is all.
            expect(process.env['CI'], 'no writable cgroup v2 here').not.toBe('true');
            return;
          }
          writeAgentsYaml(root, 'dispatch:\n  kill_grace_seconds: 2\n');
          daemon = await startDaemon(root);
          const res = await runCli(
            [
              'dispatch',
              '--repo',
              repo,
              '--agent',
              'shell',
              '--task',
              `setsid sh -c 'trap "" TERM; echo $$ > ${pidFile()}; sleep 1000' & wait`,
              '--json',
            ],
            env,
          );
          expect(res.code, res.stderr).toBe(0);
          const workspace = String(json(res)['workspace']);
          grandchild = await readGrandchild();
          const c = (ctx = testContext(root));
          const wrapper = await waitUntil(
            'the agent pid to be recorded',
            async () => (await readRecord(c, workspace))?.pid,
            30_000,
          );
          // It is in the run's cgroup although it is in a session and group of its own.
          expect(readFileSync(`/proc/${grandchild}/cgroup`, 'utf8')).toContain(
            `/agentic/${wrapper}`,
          );
          const killed = await runCli(['kill', '--json'], env);
          expect(killed.code, killed.stderr).toBe(0);
          const pid = grandchild;
          await waitUntil('the setsid process to be gone', () => !alive(pid), 60_000);
          await waitUntil(
            "the run's cgroup to be removed",
            () => runCgroup(wrapper) === undefined,
            60_000,
          );
        }, 120_000);
      }
    },
  );
}
