import { describe, expect, it } from 'vitest';
import {
  completionNotice,
  dispatchSummary,
  workspaceRow,
} from '../../src/dispatch/status-report.js';
import {
  completionNoticeSchema,
  dispatchSummarySchema,
  workspaceRowSchema,
  workspaceViewSchema,
} from '../../src/dispatch/status-schema.js';
import { sampleRecord } from '../helpers/records.js';

describe('the workspace views and their one description', () => {
  const full = sampleRecord({
    status: 'completed',
    pid: 42,
    question: 'which base?',
    started_at: '2026-01-01T00:00:00.000Z',
    changes: { commits: 1, files_changed: 2, insertions: 3, deletions: 4 },
    pr_url: 'https://forge.example/o/r/pull/1',
    exit_code: 0,
  });

  it('a status row shows every field of the view but the exit code', () => {
    expect(Object.keys(workspaceRowSchema.shape)).toEqual(
      Object.keys(workspaceViewSchema.shape).filter((k) => k !== 'exit_code'),
    );
  });

  it('each projection has exactly its schema keys, in the order JSON output shows them', () => {
    expect(Object.keys(workspaceRow('o/r/t', full))).toEqual(Object.keys(workspaceRowSchema.shape));
    expect(Object.keys(dispatchSummary('o/r/t', full))).toEqual(
      Object.keys(dispatchSummarySchema.shape),
    );
    expect(Object.keys(completionNotice('o/r/t', full))).toEqual(
      Object.keys(completionNoticeSchema.shape),
    );
  });

  it('each projection of a full and of a bare record passes its schema', () => {
    for (const record of [full, sampleRecord()]) {
      expect(workspaceRowSchema.strict().parse(workspaceRow('o/r/t', record))).toBeTruthy();
      expect(dispatchSummarySchema.strict().parse(dispatchSummary('o/r/t', record))).toBeTruthy();
      expect(completionNoticeSchema.strict().parse(completionNotice('o/r/t', record))).toBeTruthy();
    }
  });
});
