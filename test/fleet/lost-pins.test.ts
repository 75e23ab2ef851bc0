import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';

import { waitUntil } from '../helpers/dispatch.js';
import {
  blockedOn,
  doneOn,
  enqueueOn,
  makeNode,
  recordOf,
  type TestNode,
  useFleet,
} from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

const YAML = 'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 3\n';

/** A shell task that asks a question on its first run and, once ANSWER.md is there, commits it as its work. */
const ASKING_TASK = [
  'if [ -f ANSWER.md ]; then cp ANSWER.md answered.txt && git add answered.txt && git commit -qm answered',
  "else echo 'Which colour?' > BLOCKED.md; fi",
].join('\n');

describe.skipIf(!inject('postgresUrl'))(`pins to a lost node (${ISOLATION_LABEL})`, () => {
  const fleet = useFleet();

  it('a pin made only for the clone is dropped with the lost node: the run starts over elsewhere with its answer; a --node pin keeps waiting', async () => {
    fleet.nodes = ['a', 'b'].map((id) => makeNode(id, fleet.storeUrl, YAML));
    const [a, b] = fleet.nodes as [TestNode, TestNode];
    await a.start();
    const name = await enqueueOn(a, {
      repo: fleet.repo,
      agent: 'shell',
      task: ASKING_TASK,
      issue: 1,
    });
    await blockedOn(fleet.storeUrl, 'a', name);
    await a.daemon!.stop('SIGKILL');
    // Resumed while a is only down (not taken over yet): pinned to a, where its clone is.
    const first = await b.cli(['resume', name, '--answer', 'red']);
    expect(first.code, first.stderr).toBe(0);
    expect(await recordOf(fleet.storeUrl, name)).toMatchObject({
      status: 'queued',
      node_affinity: 'a',
    });
    const pinned = await enqueueOn(b, {
      repo: fleet.repo,
      agent: 'shell',
      task: 'true',
      issue: 3,
      node: 'a',
    });
    await b.start();
    // b takes a over once a's lease expires; the clone went with a, so the run starts over on b.
    const redone = await doneOn(fleet.storeUrl, 'b', name, 2);
    expect(redone.node_affinity).toBeUndefined();
    const clone = join(b.root.coreRoot, 'workspace', name);
    expect(readFileSync(join(clone, 'repo', 'answered.txt'), 'utf8')).toBe('red\n');
    // Asked for with --node: still waits for a.
    expect(await recordOf(fleet.storeUrl, pinned)).toMatchObject({
      status: 'queued',
      node_affinity: 'a',
    });
  }, 150_000);

  it('a resumed run in progress on a lost node starts over unpinned elsewhere, with its answer', async () => {
    fleet.nodes = ['a', 'b'].map((id) => makeNode(id, fleet.storeUrl, YAML));
    const [a, b] = fleet.nodes as [TestNode, TestNode];
    const started = join(fleet.dir, 'started');
    const gate = join(fleet.dir, 'gate');
    // Asks first; answered, it says it started and waits for the gate before committing.
    const task = [
      'if [ -f ANSWER.md ]; then',
      `  touch ${started}; i=0; while [ ! -f ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`,
      '  cp ANSWER.md answered.txt && git add answered.txt && git commit -qm answered',
      "else echo 'Which colour?' > BLOCKED.md; fi",
    ].join('\n');
    await a.start();
    const name = await enqueueOn(a, { repo: fleet.repo, agent: 'shell', task, issue: 1 });
    await blockedOn(fleet.storeUrl, 'a', name);
    const resumed = await a.cli(['resume', name, '--answer', 'blue']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const running = await waitUntil('the resumed run to start on a', async () => {
      const r = await recordOf(fleet.storeUrl, name);
      return existsSync(started) && r?.status === 'running' && r.pid !== undefined ? r : undefined;
    });
    expect(running).toMatchObject({ node: 'a', node_affinity: 'a' });
    // a dies with its agent; b takes its work over once a's lease expires.
    await a.crash([running.pid!]);
    writeFileSync(gate, '');
    await b.start();
    const redone = await doneOn(fleet.storeUrl, 'b', name, 3);
    expect(redone.node_affinity).toBeUndefined();
    const clone = join(b.root.coreRoot, 'workspace', name, 'repo');
    expect(readFileSync(join(clone, 'answered.txt'), 'utf8')).toBe('blue\n');
  }, 150_000);
});
