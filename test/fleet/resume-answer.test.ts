import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';

import { blockedOn, doneOn, enqueueOn, makeNode, type TestNode, useFleet } from './harness.js';
import { ISOLATION_LABEL } from './sandbox.js';

describe.skipIf(!inject('postgresUrl'))(`resume --answer in a fleet (${ISOLATION_LABEL})`, () => {
  const fleet = useFleet();

  it('given on another node, reaches the prompt and the clone on the node holding the workspace', async () => {
    // A custom agent that keeps each prompt it gets and asks its question until ANSWER.md is there.
    const yaml = [
      'concurrency:\n  asker: 2',
      'fleet:\n  heartbeat_seconds: 1\n  lease_seconds: 60',
      'agents:',
      '  asker:',
      `    command: [/bin/sh, -c, "cp \\"$0\\" ${fleet.out.dir}/prompt-$AGENTIC_RUN.md; test -f ANSWER.md || echo \\"Which colour?\\" > BLOCKED.md", "{prompt_file}"]`,
      '',
    ].join('\n');
    fleet.nodes = ['a', 'b'].map((id) => makeNode(id, fleet.storeUrl, yaml));
    const [a, b] = fleet.nodes as [TestNode, TestNode];
    await a.start();
    const name = await enqueueOn(a, {
      repo: fleet.repo,
      agent: 'asker',
      task: 'paint it',
      issue: 1,
    });
    await blockedOn(fleet.storeUrl, 'a', name);
    await b.start();
    const resumed = await b.cli(['resume', name, '--answer', 'Blue, please.']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const done = await doneOn(fleet.storeUrl, 'a', name, 2);
    expect(done.pending_answer).toBeUndefined();
    const prompt = readFileSync(join(fleet.out.dir, 'prompt-2.md'), 'utf8');
    expect(prompt).toContain('Blue, please.');
    expect(prompt).toContain('paint it');
    const aDir = join(a.root.coreRoot, 'workspace', name);
    expect(readFileSync(join(aDir, 'repo', 'ANSWER.md'), 'utf8')).toBe('Blue, please.\n');
    // The first run's question was set aside on a's disk, so the second did not block on it.
    expect(readFileSync(join(aDir, '.meta', 'BLOCKED-run1.md'), 'utf8')).toContain('Which colour?');
    // Nothing of the answer landed on b's disk (b may keep a status.json mirror, no clone).
    expect(existsSync(join(b.root.coreRoot, 'workspace', name, 'repo'))).toBe(false);
  }, 120_000);
});
