import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAllRecords } from '../../src/lifecycle/index.js';
import { json, runCli } from '../helpers/cli.js';
import { testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { git } from '../helpers/git.js';
import {
  GIT_ENV,
  makeSourceRepo,
  startDaemon,
  waitUntil,
  writeAgentsYaml,
  type Daemon,
} from '../helpers/dispatch.js';

describe.each(engines())('dispatching the same --issue again on $name', (engine) => {
  let root: TempRoot;
  let repo: string;
  let env: Record<string, string>;
  let daemon: Daemon | undefined;

  beforeEach(async () => {
    root = await tempRootOn(engine);
    repo = makeSourceRepo(root);
    env = { ...root.env, ...GIT_ENV };
    writeAgentsYaml(root, 'qa: off\n');
  });
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    root.cleanup();
  });

  const dispatch = (task: string, extra: string[] = []) =>
    runCli(['dispatch', '--repo', repo, '--agent', 'shell', '--task', task, ...extra], env);
  const record = async (name: string): Promise<Record<string, unknown> | undefined> => {
    const ctx = testContext(root);
    try {
      return (await readAllRecords(ctx)).get(name);
    } finally {
      await ctx.close();
    }
  };
  const settled = (name: string, runs: number): Promise<Record<string, unknown>> =>
    waitUntil(
      `${name} to settle after run ${runs}`,
      async () => {
        const r = await record(name);
        return r && r['runs'] === runs && r['status'] === 'completed' && r['closeout'] === undefined
          ? r
          : undefined;
      },
      30_000,
    );

  it('refuses while the workspace of that issue is queued, naming the workspace and its status', async () => {
    const first = await dispatch('echo one', ['--issue', '4', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const { workspace } = json<{ workspace: string }>(first);
    const again = await dispatch('echo two', ['--issue', '4']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`workspace ${workspace} for issue 4 is still queued`);
    expect(again.stderr).toContain(`agentic cancel ${workspace}`);
    // Nothing of the refused dispatch reached the record.
    expect(await record(workspace)).toMatchObject({ status: 'queued', task: 'echo one' });
  });

  it('continues a finished workspace of that issue on its branch with its commits, and says so', async () => {
    daemon = await startDaemon(root);
    const commit = (file: string): string =>
      `echo ${file} > ${file}; git add ${file}; git commit -q -m "add ${file}"`;
    const first = await dispatch(commit('one.txt'), ['--issue', '9', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const { workspace } = json<{ workspace: string }>(first);
    const done = await settled(workspace, 1);
    const branch = String(done['branch']);

    const other = await dispatch('echo x', ['--issue', '9', '--branch', 'elsewhere']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`works on branch ${branch}`);

    const second = await dispatch(commit('two.txt'), ['--issue', '9']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`queued ${workspace}`);
    expect(second.stderr).toContain(
      `continues ${workspace} (it was completed after 1 run) on its branch ${branch} with its commits: run 2`,
    );
    const after = await settled(workspace, 2);
    expect(after['branch']).toBe(branch);
    expect(after['task']).toBe(commit('two.txt'));
    const clone = join(root.coreRoot, 'workspace', workspace, 'repo');
    expect(git(clone, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(branch);
    expect(git(clone, 'log', '--format=%s', 'trunk..HEAD').split('\n')).toEqual([
      'add two.txt',
      'add one.txt',
    ]);

    const third = await dispatch('echo three', ['--issue', '9', '--json']);
    expect(json(third)['continued']).toEqual({ previous_status: 'completed', runs: 2, branch });
  });
});
