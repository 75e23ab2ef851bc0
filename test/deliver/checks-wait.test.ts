import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAgentsFile } from '../../src/config/agents-file.js';
import { deliverSettingsFor } from '../../src/config/index.js';
import type { AppContext } from '../../src/context.js';
import {
  beginChecksWait,
  checksWaitDueIn,
  pollAt,
  pollLater,
} from '../../src/deliver/checks-wait.js';
import type { StatusRecord } from '../../src/workspace/index.js';
import { ManualClock, tempRoot, testContext, type TempRoot } from '../helpers/context.js';

describe('the checks wait kept on the record', () => {
  let root: TempRoot;
  let ctx: AppContext;
  const clock = new ManualClock(new Date('2026-03-01T10:00:00.000Z'));
  beforeEach(() => {
    root = tempRoot('agentic-wait-');
    ctx = testContext(root, { clock });
  });
  afterEach(() => root.cleanup());

  const record = {
    status: 'completed',
    agent: 'shell',
    org: 'o',
    repo: 'r',
    task: 't',
    branch: 'agent/t',
    updated_at: '2026-03-01T10:00:00.000Z',
    runs: 1,
    priority: 0,
    question: 'delivery failed: earlier',
  } as StatusRecord;

  it('starts pending with a deadline, backs off doubling up to the cap, and takes a retry time as the next poll', () => {
    const file = parseAgentsFile(
      'deliver:\n  mode: merge\n  checks_timeout_minutes: 2\n  checks_poll: { first_seconds: 5, max_seconds: 12 }\n',
      'agents.yaml',
    );
    const verify = deliverSettingsFor(file, 'o/r').verify;
    const started = beginChecksWait(ctx, record, 'abc', verify);
    expect(started.closeout).toBe('pending');
    expect(started.question).toBeUndefined();
    expect(started.checks_wait).toMatchObject({
      sha: 'abc',
      since: '2026-03-01T10:00:00.000Z',
      deadline: '2026-03-01T10:02:00.000Z',
      next_poll_at: '2026-03-01T10:00:05.000Z',
      interval_ms: 5000,
      rebased: false,
    });
    expect(checksWaitDueIn(started, clock.now())).toBe(5000);
    clock.advance(5000);
    expect(checksWaitDueIn(started, clock.now())).toBe(0);
    const second = pollLater(ctx, started, started.checks_wait!, verify);
    expect(second.checks_wait).toMatchObject({
      interval_ms: 10_000,
      deadline: '2026-03-01T10:02:00.000Z',
    });
    const third = pollLater(ctx, second, second.checks_wait!, verify);
    expect(third.checks_wait?.interval_ms).toBe(12_000);
    const limited = pollAt(third, third.checks_wait!, new Date('2026-03-01T11:00:00.000Z'));
    expect(limited.checks_wait?.next_poll_at).toBe('2026-03-01T11:00:00.000Z');
    expect(limited.checks_wait?.interval_ms).toBe(12_000);
  });
});
