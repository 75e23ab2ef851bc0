import { describe, expect, it } from 'vitest';
import { batched } from '../../src/lib/batch.js';

describe('batched', () => {
  it('hands items submitted together, or during a running batch, to one call each', async () => {
    const calls: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const double = batched(async (items: number[]) => {
      calls.push(items);
      if (calls.length === 1) await gate;
      return items.map((n) => n * 2);
    });
    const first = [double(1), double(2)];
    await new Promise((r) => setImmediate(r));
    const second = [double(3), double(4), double(5)];
    release();
    expect(await Promise.all([...first, ...second])).toEqual([2, 4, 6, 8, 10]);
    expect(calls).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('rejects every item of a failing batch and keeps serving later ones', async () => {
    let fail = true;
    const run = batched(async (items: string[]) => {
      if (fail) throw new Error('store down');
      return items.map((s) => s.toUpperCase());
    });
    const failed = await Promise.allSettled([run('a'), run('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await run('c')).toBe('C');
  });
});
