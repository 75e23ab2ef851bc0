import { statSync } from 'node:fs';
import type { Logger } from '../../lib/logger.js';
import {
  discoverWorkspaces,
  parseWorkspaceName,
  workspaceDir,
  type StatusRecord,
} from '../../workspace/index.js';
import { readStatusFile, statusPath } from '../../workspace/status-file.js';

interface Cached {
  ino: number;
  ctimeMs: number;
  size: number;
  record: StatusRecord;
}

/**
 * The status.json files of one workspace root, read through a cache that a stat validates. The
 * key is inode, ctime and size, not mtime: the mirror mark sets mtime from `updated_at`, so two
 * writes in one millisecond carry the same mtime, while each atomic write makes a new inode.
 */
export class StatusFiles {
  private readonly cache = new Map<string, Cached>();

  constructor(
    readonly workspaceRoot: string,
    private readonly now: () => Date,
    private readonly logger: Logger,
  ) {}

  /** The workspace names under the root (directories three levels down with a valid name). */
  names(): string[] {
    return discoverWorkspaces(this.workspaceRoot).filter((name) => {
      try {
        parseWorkspaceName(name);
        return true;
      } catch {
        return false;
      }
    });
  }

  /** The workspace directory of `name`. */
  dir(name: string): string {
    return workspaceDir(this.workspaceRoot, name);
  }

  /**
   * The record in `name`'s status.json as it is on disk now; undefined when there is none. A
   * corrupt file is quarantined (readStatusFile renames it) and reported, then reads as absent.
   */
  read(name: string): StatusRecord | undefined {
    const dir = this.dir(name);
    const stat = statSync(statusPath(dir), { throwIfNoEntry: false });
    const hit = this.cache.get(name);
    if (stat === undefined || !stat.isFile()) {
      this.cache.delete(name);
      return undefined;
    }
    if (hit && hit.ino === stat.ino && hit.ctimeMs === stat.ctimeMs && hit.size === stat.size)
      return hit.record;
    // Stat first, read second: a write in between leaves a stat that the next read rejects.
    const read = readStatusFile(dir, this.now());
    if (read.kind === 'ok') {
      this.cache.set(name, { ino: stat.ino, ctimeMs: stat.ctimeMs, size: stat.size, ...read });
      return read.record;
    }
    this.cache.delete(name);
    if (read.kind === 'corrupt')
      this.logger.warn(
        { workspace: name, moved_to: read.movedTo, reason: read.reason },
        'corrupt status.json quarantined',
      );
    return undefined;
  }
}
