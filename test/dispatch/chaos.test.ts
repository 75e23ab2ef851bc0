import { describe, expect, it } from 'vitest';
import { runChaos } from '../helpers/chaos-run.js';

describe('chaos: the runner is SIGKILLed at random while agents run', () => {
  it('keeps every invariant: one terminal state matching the fixture, one run, one journal line, no ghosts, nothing lost', async () => {
    const report = await runChaos({
      tasks: 40,
      concurrency: 8,
      minKills: 5,
      killEveryMs: [600, 1800],
      enqueueOverMs: 5000,
      deadlineMs: 240_000,
      stopAfterMinKills: true,
    });
    expect(report.kills).toBeGreaterThanOrEqual(5);
    expect(report.aliveAtKills).toBeGreaterThan(0);
    // Every daemon the test started ran until it was killed: none found the lease still held.
    expect(report.selfExits).toBe(0);
    expect(report.violations).toEqual({
      notTerminal: [],
      wrongOutcome: [],
      ranTwiceOrNever: [],
      journal: [],
      reaped: [],
      vanished: 0,
    });
  }, 300_000);
});
