import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { groupAlive, signalGroup } from '../../src/lib/proc.js';

describe('process groups', () => {
  it('never signals group 0 (our own) or -1 (everyone), whatever pid a record holds', () => {
    for (const pgid of [0, 1, -1, Number.NaN, 1.5]) {
      expect(groupAlive(pgid)).toBe(false);
      expect(signalGroup(pgid, 'SIGTERM')).toBe(false);
    }
  });

  it('signals a real detached group', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 30'], { detached: true, stdio: 'ignore' });
    const pid = child.pid ?? 0;
    const exited = new Promise((r) => child.once('exit', r));
    expect(groupAlive(pid)).toBe(true);
    expect(signalGroup(pid, 'SIGTERM')).toBe(true);
    await exited;
    // The group lingers until the kernel has reaped every member.
    const deadline = Date.now() + 5000;
    while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(groupAlive(pid)).toBe(false);
  });
});
