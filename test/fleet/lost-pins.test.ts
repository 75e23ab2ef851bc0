import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';

import { freshPostgresDatabase } from '../helpers/engines.js';
import { waitUntil } from '../helpers/dispatch.js';
import {
  bareRepo,
  blockedOn,
  doneOn,
  enqueueOn,
  makeNode,
  recordOf,
  type TestNode,
  tearDownFleet,
} from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

const YAML = 'concurrency:\n  shell: 2\nfleet:\n  heartbeat_seconds: 0.5\n  lease_seconds: 3\n';

/** A shell task that asks a question on its first run and, once ANSWER.md is there, commits it as its work. */
const ASKING_TASK = [
  'if [ -f ANSWER.md ]; then cp ANSWER.md answered.txt && git add answered.txt && git commit -qm answered',
  "else echo 'Which colour?' > BLOCKED.md; fi",
].join('\n');

describe.skipIf(!inject('postgresUrl'))(`pins to a lost node (${ISOLATION_LABEL})`, () => {
  let dir: string;
  let storeUrl: string;
  let nodes: TestNode[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentic-fleet-'));
    storeUrl = await freshPostgresDatabase();
  });
  afterEach(async () => {
    await tearDownFleet({ nodes, dir });
    nodes = [];
  });

  it('a pin made only for the clone is dropped with the lost node: the run starts over elsewhere with its answer; a --node pin keeps waiting', async () => {
    nodes = ['a', 'b'].map((id) => makeNode(id, storeUrl, YAML));
    const [a, b] = nodes as [TestNode, TestNode];
    const url = bareRepo(dir);
    await a.start();
    const name = await enqueueOn(a, { repo: url, agent: 'shell', task: ASKING_TASK, issue: 1 });
    await blockedOn(storeUrl, 'a', name);
    await a.daemon!.stop('SIGKILL');
    // Resumed while a is only down (not taken over yet): pinned to a, where its clone is.
    const first = await b.cli(['resume', name, '--answer', 'red']);
    expect(first.code, first.stderr).toBe(0);
    expect(await recordOf(storeUrl, name)).toMatchObject({ status: 'queued', node_affinity: 'a' });
    const pinned = await enqueueOn(b, {
      repo: url,
      agent: 'shell',
      task: 'true',
      issue: 3,
      node: 'a',
    });
    await b.start();
    // b takes a over once a's lease expires; the clone went with a, so the run starts over on b.
    const redone = await doneOn(storeUrl, 'b', name, 2);
    expect(redone.node_affinity).toBeUndefined();
    const clone = join(b.root.coreRoot, 'workspace', name);
    expect(readFileSync(join(clone, 'repo', 'answered.txt'), 'utf8')).toBe('red\n');
    // Asked for with --node: still waits for a.
    expect(await recordOf(storeUrl, pinned)).toMatchObject({
      status: 'queued',
      node_affinity: 'a',
    });
  }, 150_000);

  it('a resumed run in progress on a lost node starts over unpinned elsewhere, with its answer', async () => {
    nodes = ['a', 'b'].map((id) => makeNode(id, storeUrl, YAML));
    const [a, b] = nodes as [TestNode, TestNode];
    const started = join(dir, 'started');
    const gate = join(dir, 'gate');
    // Asks first; answered, it says it started and waits for the gate before committing.
    const task = [
      'if [ -f ANSWER.md ]; then',
      `  touch ${started}; i=0; while [ ! -f ${gate} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`,
      '  cp ANSWER.md answered.txt && git add answered.txt && git commit -qm answered',
      "else echo 'Which colour?' > BLOCKED.md; fi",
    ].join('\n');
    await a.start();
    const name = await enqueueOn(a, { repo: bareRepo(dir), agent: 'shell', task, issue: 1 });
    await blockedOn(storeUrl, 'a', name);
    const resumed = await a.cli(['resume', name, '--answer', 'blue']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const running = await waitUntil('the resumed run to start on a', async () => {
      const r = await recordOf(storeUrl, name);
      return existsSync(started) && r?.status === 'running' && r.pid !== undefined ? r : undefined;
    });
    expect(running).toMatchObject({ node: 'a', node_affinity: 'a' });
    // a dies with its agent; b takes its work over once a's lease expires.
    await a.crash([running.pid!]);
    writeFileSync(gate, '');
    await b.start();
    const redone = await doneOn(storeUrl, 'b', name, 3);
    expect(redone.node_affinity).toBeUndefined();
    const clone = join(b.root.coreRoot, 'workspace', name, 'repo');
    expect(readFileSync(join(clone, 'answered.txt'), 'utf8')).toBe('blue\n');
  }, 150_000);
});
