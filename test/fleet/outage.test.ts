import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { json, runCli } from '../helpers/cli.js';
import { GIT_ENV, waitUntil } from '../helpers/dispatch.js';
import { freshPostgresDatabase } from '../helpers/engines.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { countingTask, isDone, makeNode, registry, type TestNode, useFleet } from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

const YAML = 'concurrency:\n  shell: 1\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 60\n';
/** A lease much shorter than the outage: every node looks expired when the database is back. */
const SHORT_LEASE =
  'concurrency:\n  shell: 1\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 4\n';

// These tests stop and start PostgreSQL: they run their own cluster, never the shared one.
describe.skipIf(!inject('postgresUrl'))(
  `the fleet database going away (${ISOLATION_LABEL})`,
  () => {
    let cluster: PostgresCluster;

    beforeAll(async () => {
      const started = await startPostgres();
      if (!started) throw new Error('PostgreSQL is installed but did not start');
      cluster = started;
    }, 60_000);
    afterAll(async () => {
      await cluster.stop();
    });

    // A password the server does not need (trust), to see that no message shows it.
    const fleet = useFleet(async () =>
      (await freshPostgresDatabase(cluster.url)).replace('postgres@', 'postgres:s3cret-pw@'),
    );
    afterEach(async () => {
      // Whatever a test left halted is started again for the next one.
      try {
        cluster.resume();
      } catch {
        // already running
      }
    });

    /** Queues each task under its own issue number, from `firstIssue` on (one workspace each). */
    async function enqueue(node: TestNode, tasks: string[], firstIssue = 1): Promise<string[]> {
      const ctx = node.context();
      const names: string[] = [];
      try {
        for (const [i, task] of tasks.entries())
          names.push(
            (
              await enqueueDispatch(ctx, {
                repo: fleet.repo,
                agent: 'shell',
                task,
                issue: firstIssue + i,
              })
            ).workspace,
          );
      } finally {
        await ctx.close();
      }
      return names;
    }

    const flat = (name: string): string => name.replaceAll('/', '_');

    it('an outage of ~20 s while an agent finishes: the run end is recorded once after reconnect, queued work runs once, no node takes another over, nothing is overwritten', async () => {
      const gate = join(fleet.out.dir, 'gate');
      const a = makeNode('a', fleet.storeUrl, SHORT_LEASE);
      const b = makeNode('b', fleet.storeUrl, SHORT_LEASE);
      fleet.nodes = [a, b];
      // Node b completes one task of its own first: a shared record a must never write.
      await b.start();
      const [theirs] = await enqueue(b, [countingTask(fleet.out, { seconds: 0.1 })]);
      await waitUntil(
        'node b to finish its task',
        async () => isDone((await registry(fleet.storeUrl)).get(theirs!)),
        60_000,
      );
      // Node b stays up through the outage: back, it must not take a's work over.
      const theirsBefore = (await registry(fleet.storeUrl)).get(theirs!);

      const daemon = await a.start();
      const [gated, queued] = await enqueue(
        a,
        [countingTask(fleet.out, { gate }), countingTask(fleet.out, { seconds: 0.1 })],
        10,
      );
      const running = await waitUntil('the gated task to run', async () => {
        const r = (await registry(fleet.storeUrl)).get(gated!);
        return r?.status === 'running' && r.pid !== undefined ? r : undefined;
      });
      fleet.pids.push(running.pid!);
      // The pool limit is fleet-wide: either node may have claimed it.
      const owner = running.node === 'b' ? b : a;
      const ownerDaemon = owner.daemon!;
      expect((await registry(fleet.storeUrl)).get(queued!)?.status).toBe('queued');

      const outageStart = Date.now();
      cluster.halt();
      // The agent finishes while the database is down; its end cannot be written.
      writeFileSync(gate, '');
      await waitUntil(
        'the gated agent to end',
        () => fleet.out.lines('ends').includes(flat(gated!)),
        30_000,
      );
      await waitUntil(
        'its node to say it keeps retrying the run end',
        () =>
          (ownerDaemon.stderr().match(/could not record the run end; retrying/g) ?? []).length >= 2,
        60_000,
      ).catch((err: Error) => {
        // What the owner did instead is the diagnosis.
        throw new Error(
          `${err.message}; node ${owner.id} logged:\n${ownerDaemon.stderr().slice(-4000)}`,
        );
      });
      await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - outageStart))));
      // Down ~20 s: the queued task did not start (no claim from local files), the daemon lives.
      expect(fleet.out.lines('starts')).toEqual([flat(theirs!), flat(gated!)]);
      expect(daemon.proc.exitCode).toBeNull();
      expect(daemon.stderr() + b.daemon!.stderr()).not.toMatch(/running degraded/);
      cluster.resume();
      const resumedAt = Date.now();

      const done = await waitUntil(
        'both tasks of node a to complete after reconnect',
        async () => {
          const r = await registry(fleet.storeUrl);
          return isDone(r.get(gated!)) && isDone(r.get(queued!)) ? r : undefined;
        },
        90_000,
      );
      expect(fleet.out.lines('starts').sort()).toEqual(
        [flat(theirs!), flat(gated!), flat(queued!)].sort(),
      );
      expect(fleet.out.lines('ends').sort()).toEqual(
        [flat(theirs!), flat(gated!), flat(queued!)].sort(),
      );
      expect(done.get(gated!)).toMatchObject({ status: 'completed', node: owner.id });
      expect(done.get(theirs!)).toEqual(theirsBefore);
      // The retry back-off is capped at 15 s: the end lands well within a minute of the database.
      const recordedAfterMs = Date.parse(done.get(gated!)!.updated_at) - resumedAt;
      console.info(`run end recorded ${recordedAfterMs} ms after PostgreSQL was back`);
      expect(recordedAfterMs).toBeLessThan(60_000);
      // Recorded once: one journal line for the one run of the gated task.
      const journal = readFileSync(
        join(owner.root.coreRoot, 'workspace', gated!, '.meta', 'journal.jsonl'),
        'utf8',
      )
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { status: string; runs: number });
      expect(journal.map((j) => [j.status, j.runs])).toEqual([['completed', 1]]);
      expect(daemon.proc.exitCode).toBeNull();
      expect(b.daemon!.proc.exitCode).toBeNull();
      expect(done.get(gated!)?.epoch ?? 0).toBe(0);
      expect(daemon.stderr() + b.daemon!.stderr()).not.toMatch(
        /took over the work of lost fleet.nodes/,
      );
    }, 240_000);

    it('a daemon started while the database is down waits without running degraded, then claims once it answers', async () => {
      const a = makeNode('a', fleet.storeUrl, YAML);
      fleet.nodes = [a];
      const [name] = await enqueue(a, [countingTask(fleet.out, { seconds: 0.1 })]);
      cluster.halt();
      const daemon = await a.start('state store unreachable');
      await waitUntil(
        'a second attempt to open the store',
        () => daemon.stderr().includes('"attempt":2'),
        30_000,
      );
      expect(daemon.proc.exitCode).toBeNull();
      expect(daemon.stderr()).not.toMatch(/running degraded|runner started/);
      expect(daemon.stderr()).toContain('127.0.0.1');
      expect(daemon.stderr()).not.toContain('s3cret-pw');
      // The enqueue left the task's status.json under a's workspaces: degraded, it would run.
      expect(fleet.out.lines('starts')).toEqual([]);
      cluster.resume();
      const resumedAt = Date.now();
      await waitUntil(
        'the daemon to start',
        () => daemon.stderr().includes('runner started'),
        60_000,
      );
      console.info(`daemon started ${Date.now() - resumedAt} ms after PostgreSQL was back`);
      await waitUntil(
        'the queued task to complete',
        async () => isDone((await registry(fleet.storeUrl)).get(name!)),
        60_000,
      );
      expect(fleet.out.lines('starts')).toEqual([flat(name!)]);
    }, 180_000);

    it('status and doctor say the fleet database is unreachable, naming it without its password', async () => {
      const a = makeNode('a', fleet.storeUrl, YAML);
      fleet.nodes = [a];
      cluster.halt();
      const env = { ...GIT_ENV, ...a.root.env, ...a.env };
      const status = await runCli(['status'], env);
      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(
        /cannot reach the fleet database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\//,
      );
      expect(status.stderr).not.toContain('s3cret-pw');
      const statusJson = json<{ error: { code: string } }>(await runCli(['status', '--json'], env));
      expect(statusJson.error.code).toBe('STORE_UNAVAILABLE');

      const doctor = await runCli(['doctor'], env);
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toMatch(/store: +postgres at postgres:\/\/postgres:\*\*\*@/);
      expect(doctor.stdout).toContain('UNREACHABLE');
      expect(doctor.stdout + doctor.stderr).not.toContain('s3cret-pw');
      const report = json<{ store: { reachable: boolean; degraded: boolean } }>(
        await runCli(['doctor', '--json'], env),
      );
      expect(report.store).toMatchObject({ reachable: false, degraded: false });
      // Nothing fell back to local files: no workspace state was created under the CoreRoot.
      expect(existsSync(join(a.root.coreRoot, 'runtime', 'state.lock'))).toBe(false);

      cluster.resume();
      const healthy = json<{ store: { reachable: boolean; engine: string } }>(
        await runCli(['doctor', '--json'], env),
      );
      expect(healthy.store).toMatchObject({ reachable: true, engine: 'postgres' });
    }, 120_000);
  },
);
