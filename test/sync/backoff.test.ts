import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../src/sync/index.js';

describe('sync back-off schedule', () => {
  it('follows 1 s → 5 s → 15 s → 60 s → 5 min and stays capped at 5 min', () => {
    const exact = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n, exact))).toEqual([
      1_000, 5_000, 15_000, 60_000, 300_000, 300_000, 300_000,
    ]);
    expect(backoffDelay(0, exact)).toBe(0);
  });

  it('jitters each step by at most ±20 %', () => {
    expect(backoffDelay(2, () => 0)).toBe(4_000);
    expect(backoffDelay(2, () => 0.999999)).toBe(6_000);
    expect(backoffDelay(5, () => 0)).toBe(240_000);
  });
});

describe('Retry-After', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');

  it('reads delay seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date relative to now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:42 GMT', now)).toBe(42_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });

  it('ignores garbage and clamps huge values to one hour', () => {
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('999999', now)).toBe(3_600_000);
  });
});
