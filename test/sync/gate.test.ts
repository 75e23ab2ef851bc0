import { describe, expect, it } from 'vitest';
import { holdAfterFailure, sendableAt } from '../../src/sync/index.js';

const now = new Date('2026-08-01T00:00:00.000Z');
const iso = (ms: number) => new Date(now.getTime() + ms).toISOString();
const exact = () => 0.5;

describe('when an entry may be sent', () => {
  it('waits for its own back-off and for the queue-wide hold, whichever is later', () => {
    const entry = { id: 'q', next_attempt: iso(5_000), failed_at: iso(0) };
    expect(sendableAt(entry, {})).toBe(iso(5_000));
    expect(sendableAt(entry, { hold_until: iso(9_000) })).toBe(iso(9_000));
    expect(sendableAt({ id: 'fresh', next_attempt: iso(0) }, { hold_until: iso(1_000) })).toBe(
      iso(1_000),
    );
  });

  it('goes at once after a later successful push, unless the hub throttled it', () => {
    const failed = { id: 'q', next_attempt: iso(300_000), failed_at: iso(0) };
    expect(sendableAt(failed, { last_push_at: iso(10) })).toBe('');
    expect(sendableAt({ ...failed, throttled: true }, { last_push_at: iso(10) })).toBe(
      iso(300_000),
    );
    expect(sendableAt(failed, { last_push_at: iso(-10) })).toBe(iso(300_000));
  });
});

describe('the hold after a failure', () => {
  it('steps through the schedule once per failed wave, not once per failed request', () => {
    const first = holdAfterFailure({}, now, undefined, exact);
    expect(first).toEqual({
      marks: { failure_streak: 1, hold_until: iso(1_000) },
      nextAttempt: iso(1_000),
    });
    // Another request of the same wave fails while the hold is on: it waits for the same hold.
    expect(holdAfterFailure(first.marks, now, undefined, exact)).toEqual({
      marks: {},
      nextAttempt: iso(1_000),
    });
    const later = new Date(now.getTime() + 1_000);
    expect(holdAfterFailure(first.marks, later, undefined, exact)).toEqual({
      marks: { failure_streak: 2, hold_until: iso(6_000) },
      nextAttempt: iso(6_000),
    });
  });

  it('starts again from 1 s after a success, however often the entry failed before', () => {
    const afterSuccess = { last_push_at: iso(0), hold_until: iso(0), failure_streak: 0 };
    expect(holdAfterFailure(afterSuccess, now, undefined, exact).nextAttempt).toBe(iso(1_000));
  });

  it('takes a Retry-After, and a longer one stretches a running hold', () => {
    expect(holdAfterFailure({}, now, 30_000, exact)).toEqual({
      marks: { failure_streak: 1, hold_until: iso(30_000) },
      nextAttempt: iso(30_000),
    });
    expect(
      holdAfterFailure({ failure_streak: 1, hold_until: iso(1_000) }, now, 60_000, exact),
    ).toEqual({ marks: { hold_until: iso(60_000) }, nextAttempt: iso(60_000) });
  });
});
