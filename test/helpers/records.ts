import type { StatusRecord } from '../../src/workspace/index.js';

/** A valid status record with overridable fields. */
export function sampleRecord(overrides: Partial<StatusRecord> = {}): StatusRecord {
  return {
    status: 'queued',
    agent: 'codex',
    repo: 'go-io',
    org: 'core',
    task: 'fix the tests',
    branch: 'agent/fix-the-tests',
    runs: 0,
    priority: 0,
    updated_at: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}
