import { describe, expect, it } from 'vitest';
import { holdAfterFailure, holdAfterSuccess, sendableAt } from '../../src/sync/index.js';

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

  it('does not step again for a request of a wave a step or a success has already answered', () => {
    const first = holdAfterFailure({ wave: 3 }, now, undefined, exact, 3);
    expect(first).toEqual({
      marks: { failure_streak: 1, hold_until: iso(1_000), wave: 4 },
      nextAttempt: iso(1_000),
    });
    // A request sent beside it times out after that hold ended: same wave, no second step.
    const late = new Date(now.getTime() + 2_000);
    const marks = { wave: 3, ...first.marks };
    expect(holdAfterFailure(marks, late, undefined, exact, 3)).toEqual({
      marks: {},
      nextAttempt: iso(2_000),
    });
    // One sent under the hold's wave is the next failed wave.
    expect(holdAfterFailure(marks, late, undefined, exact, 4)).toEqual({
      marks: { failure_streak: 2, hold_until: iso(7_000), wave: 5 },
      nextAttempt: iso(7_000),
    });
    // A Retry-After on a late answer is still honoured, and holds the queue.
    expect(holdAfterFailure(marks, late, 30_000, exact, 3)).toEqual({
      marks: { hold_until: iso(32_000) },
      nextAttempt: iso(32_000),
    });
  });

  it('moves the wave on with every success, so requests sent before it cannot step the schedule', () => {
    const after = holdAfterSuccess({ wave: 7, failure_streak: 2 }, now);
    expect(after).toEqual({
      last_push_at: iso(0),
      hold_until: iso(0),
      failure_streak: 0,
      wave: 8,
    });
    expect(holdAfterFailure(after, now, undefined, exact, 7)).toEqual({
      marks: {},
      nextAttempt: iso(0),
    });
  });
});
