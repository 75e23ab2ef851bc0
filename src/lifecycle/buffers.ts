import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { compactUtc } from '../lib/clock.js';

/** Directory of per-run scratch buffers: `<CoreRoot>/state`. */
export function buffersDir(coreRoot: string): string {
  return join(coreRoot, 'state');
}

function bufferFile(coreRoot: string, name: string): string {
  return join(buffersDir(coreRoot), `${name.replace(/\//g, '__')}.db`);
}

/**
 * A per-run scratch buffer (a small SQLite file) for QA entries. It is either committed (the
 * entries are returned and the file removed) or discarded; a buffer left by a crash is an
 * orphan and is discarded at the next runner start, since a partial cycle must not enter history.
 */
export class RunBuffer {
  private constructor(
    private readonly db: BetterSqlite3.Database,
    readonly path: string,
  ) {}

  /** Creates (or reopens) the buffer of workspace `name`. */
  static async open(coreRoot: string, name: string): Promise<RunBuffer> {
    mkdirSync(buffersDir(coreRoot), { recursive: true });
    const path = bufferFile(coreRoot, name);
    const Database = await loadDriver();
    const db = new Database(path);
    db.exec(
      'CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, value TEXT NOT NULL)',
    );
    return new RunBuffer(db, path);
  }

  /** Appends one JSON entry. */
  append(entry: unknown): void {
    this.db.prepare('INSERT INTO entries (value) VALUES (?)').run(JSON.stringify(entry));
  }

  /** Returns every entry in order and removes the buffer. */
  commit(): unknown[] {
    const rows = this.db.prepare('SELECT value FROM entries ORDER BY seq').all() as Array<{
      value: string;
    }>;
    this.discard();
    return rows.map((r) => JSON.parse(r.value) as unknown);
  }

  /** Drops the buffer and its file. */
  discard(): void {
    if (this.db.open) this.db.close();
    for (const suffix of ['', '-wal', '-shm', '-journal'])
      rmSync(this.path + suffix, { force: true });
  }
}

/** What orphan recovery did. */
export interface OrphanReport {
  discarded: string[];
  quarantined: string[];
}

/**
 * Discards buffers left behind by a crash (every `*.db` under `<CoreRoot>/state` at runner
 * start); an unreadable one moves to `<CoreRoot>/state/quarantine/`. No state directory is a no-op.
 */
export async function recoverOrphanBuffers(coreRoot: string, now: Date): Promise<OrphanReport> {
  const dir = buffersDir(coreRoot);
  const report: OrphanReport = { discarded: [], quarantined: [] };
  if (!existsSync(dir)) return report;
  const Database = await loadDriver();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.db')) continue;
    const path = join(dir, file);
    if (isReadableSqlite(Database, path)) {
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(path + suffix, { force: true });
      report.discarded.push(file);
    } else {
      const qdir = join(dir, 'quarantine');
      mkdirSync(qdir, { recursive: true });
      renameSync(path, join(qdir, `${file}.${compactUtc(now)}`));
      report.quarantined.push(file);
    }
  }
  return report;
}

// Loaded on use so a missing native module only disables buffers, never the whole CLI.
async function loadDriver(): Promise<typeof BetterSqlite3> {
  return (await import('better-sqlite3')).default;
}

function isReadableSqlite(Database: typeof BetterSqlite3, path: string): boolean {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
      return true;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}
