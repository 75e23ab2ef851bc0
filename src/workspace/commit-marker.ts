import { join } from 'node:path';
import { z } from 'zod';
import { readJsonIfValid } from '../lib/fs.js';
import type { StatusRecord } from './record.js';

const markerSchema = z.object({
  workspace: z.string(),
  updated_at: z.string(),
  runs: z.number(),
  committed_at: z.string(),
});

/** `<ws>/.meta/commit.json`: the last version of the workspace written to its journal. */
export type CommitMarker = z.infer<typeof markerSchema>;

/** Path of a workspace's commit marker, from the workspace directory. */
export function commitMarkerPath(dir: string): string {
  return join(dir, '.meta', 'commit.json');
}

/** The commit marker at `path`; undefined when absent, torn or not of this shape. */
export function readCommitMarker(path: string): CommitMarker | undefined {
  return readJsonIfValid(path, markerSchema);
}

/** True when the marker in `dir` names this version (`updated_at` and `runs`) of the record. */
export function isCommitted(
  dir: string,
  record: Pick<StatusRecord, 'updated_at' | 'runs'>,
): boolean {
  const marker = readCommitMarker(commitMarkerPath(dir));
  return (
    marker !== undefined && marker.updated_at === record.updated_at && marker.runs === record.runs
  );
}
