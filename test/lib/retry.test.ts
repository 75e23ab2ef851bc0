import { describe, expect, it } from 'vitest';
import { retryUntilDone } from '../../src/lib/retry.js';

describe('retryUntilDone', () => {
  it('runs again after each failure, doubling the pause up to the cap, until it succeeds', async () => {
    let calls = 0;
    const pauses: number[] = [];
    const done = await retryUntilDone(
      async () => {
        calls++;
        if (calls < 5) throw new Error(`down ${calls}`);
      },
      { firstMs: 1, maxMs: 4, stopped: () => false, onError: (_e, ms) => pauses.push(ms) },
    );
    expect(done).toBe(true);
    expect(calls).toBe(5);
    expect(pauses).toEqual([1, 2, 4, 4]);
  });

  it('gives up, reporting false, once its owner stops', async () => {
    let stopped = false;
    let calls = 0;
    const done = await retryUntilDone(
      async () => {
        calls++;
        if (calls === 3) stopped = true;
        throw new Error('down');
      },
      { firstMs: 1, maxMs: 1, stopped: () => stopped, onError: () => undefined },
    );
    expect(done).toBe(false);
    expect(calls).toBe(3);
  });
});
