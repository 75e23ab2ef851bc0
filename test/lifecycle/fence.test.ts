import { describe, expect, it } from 'vitest';
import { fenceViolation } from '../../src/lifecycle/index.js';
import type { StatusRecord } from '../../src/workspace/index.js';

const record = (patch: Partial<StatusRecord>): StatusRecord => ({
  status: 'running',
  agent: 'shell',
  repo: 'r',
  org: 'o',
  task: 't',
  branch: 'b',
  runs: 1,
  priority: 0,
  updated_at: '2026-01-01T00:00:00.000Z',
  ...patch,
});

describe('fleet fencing', () => {
  it('lets a node change its own running record', () => {
    const old = record({ node: 'a', epoch: 2 });
    expect(fenceViolation(old, { ...old, status: 'completed' }, 'a')).toBeUndefined();
  });

  it("refuses a change to another node's running record that is not a takeover", () => {
    const old = record({ node: 'a' });
    expect(fenceViolation(old, { ...old, status: 'failed' }, 'b')).toMatch(/running on node a/);
  });

  it("lets any node record a kill intent on another node's running record, and nothing more", () => {
    const old = record({ node: 'a', pid: 42 });
    const later = { updated_at: '2026-01-01T00:00:01.000Z' };
    expect(fenceViolation(old, { ...old, ...later, kill_reason: 'cancel' }, 'b')).toBeUndefined();
    expect(fenceViolation(old, { ...old, kill_reason: 'operator', question: 'x' }, 'b')).toMatch(
      /running on node a/,
    );
    expect(
      fenceViolation(old, { ...old, kill_reason: 'cancel', status: 'cancelled' }, 'b'),
    ).toMatch(/running on node a/);
  });

  it('lets a takeover raise the epoch of a dead node’s record', () => {
    const old = record({ node: 'a', epoch: 0 });
    expect(
      fenceViolation(old, { ...old, status: 'queued', node: undefined, epoch: 1 }, 'b'),
    ).toBeUndefined();
  });

  it('refuses a copy from before a takeover, whatever the record became since', () => {
    const now = record({ status: 'completed', node: 'b', epoch: 1 });
    const stale = record({ node: 'a' });
    expect(fenceViolation(now, { ...stale, status: 'failed' }, 'a')).toMatch(/taken over/);
  });

  it('lets anything create a record or remove one', () => {
    expect(fenceViolation(undefined, record({ node: 'a' }), 'b')).toBeUndefined();
    expect(fenceViolation(record({ node: 'a' }), null, 'b')).toBeUndefined();
  });
});
