import { join } from 'node:path';
import type { AppContext } from '../context.js';
import { sourceKind } from '../lib/git.js';
import { workspaceDir, type StatusRecord } from '../workspace/index.js';
import type { HandbackTarget } from './handback.js';

/** Where a workspace's work is handed back to: its recorded source and its clone. */
export function handbackTarget(
  ctx: AppContext,
  name: string,
  record: StatusRecord,
): HandbackTarget {
  const location = record.source ?? '';
  return {
    kind: sourceKind(location),
    location,
    repoDir: join(workspaceDir(ctx.config.workspaceRoot, name), 'repo'),
    env: ctx.config.childEnv,
  };
}
