import { describe, expect, it } from 'vitest';
import { SyncBarrier } from '../../src/lib/sync-barrier.js';

/** A sync whose rounds finish only when the test says so. */
function gatedSync(): {
  sync: () => Promise<void>;
  rounds: Array<() => void>;
  fail: (e: Error) => void;
} {
  const rounds: Array<() => void> = [];
  let failNext: ((e: Error) => void) | undefined;
  return {
    rounds,
    fail: (e) => failNext?.(e),
    sync: () =>
      new Promise<void>((resolve, reject) => {
        rounds.push(resolve);
        failNext = reject;
      }),
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SyncBarrier', () => {
  it('covers a request only with a sync that started after it, sharing one round among waiters', async () => {
    const g = gatedSync();
    const barrier = new SyncBarrier(g.sync);
    const done: string[] = [];
    void barrier.request().then(() => done.push('a'));
    await tick();
    expect(g.rounds).toHaveLength(1);
    // b and c arrive while a's sync runs: it started before them, so they wait for the next.
    void barrier.request().then(() => done.push('b'));
    void barrier.request().then(() => done.push('c'));
    g.rounds[0]?.();
    await tick();
    expect(done).toEqual(['a']);
    expect(g.rounds).toHaveLength(2);
    g.rounds[1]?.();
    await tick();
    expect(done).toEqual(['a', 'b', 'c']);
    expect(g.rounds).toHaveLength(2);
  });

  it('rejects the requests a failed sync covered and serves later ones', async () => {
    const g = gatedSync();
    const barrier = new SyncBarrier(g.sync);
    const first = barrier.request();
    await tick();
    g.fail(new Error('EIO'));
    await expect(first).rejects.toThrow('EIO');
    const second = barrier.request();
    await tick();
    g.rounds[1]?.();
    await expect(second).resolves.toBeUndefined();
  });
});
