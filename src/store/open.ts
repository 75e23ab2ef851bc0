import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { compactUtc } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { createNullStore } from './null-store.js';
import { openSqliteStore } from './sqlite/engine.js';
import type { StateStore } from './types.js';

type DatabaseConstructor = new (path: string, options?: { timeout?: number }) => SqliteDatabase;

/** Options for opening the store of one CoreRoot. */
export interface OpenStoreOptions {
  coreRoot: string;
  /** `postgres://…` selects the fleet engine; undefined = SQLite at `<CoreRoot>/db.sqlite`. */
  storeUrl?: string | undefined;
  now?: () => Date;
  logger: Logger;
  /** Loads the SQLite driver; injectable so tests can simulate a missing native module. */
  loadSqlite?: () => Promise<DatabaseConstructor>;
}

/** The opened store, plus the path a corrupt database was moved to when one was replaced. */
export interface OpenedStore {
  store: StateStore;
  quarantined: string | undefined;
}

const CORRUPT_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

/**
 * Opens the state store. Never throws for an unusable store: it returns the degraded no-op
 * store with a reason (DESIGN §4). A database file that is not SQLite is moved to
 * `<CoreRoot>/quarantine/` and a fresh one is created (the caller rebuilds it from disk). A
 * schema newer than this build is the one fatal case: STORE_SCHEMA_TOO_NEW.
 */
export async function openStateStore(options: OpenStoreOptions): Promise<OpenedStore> {
  const now = options.now ?? (() => new Date());
  if (options.storeUrl !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(options.storeUrl)) {
      throw new AgenticError(
        'CONFIG_INVALID',
        `store URL must start with postgres:// (got ${redactUrl(options.storeUrl)})`,
        {
          field: 'CORE_AGENT_STORE_URL',
        },
      );
    }
    const { openPostgresStore } = await import('./postgres/engine.js');
    try {
      return {
        store: await openPostgresStore(options.storeUrl, { logger: options.logger }),
        quarantined: undefined,
      };
    } catch (err) {
      if (err instanceof AgenticError && err.code === 'STORE_SCHEMA_TOO_NEW') throw err;
      return degraded(
        redactUrl(options.storeUrl),
        `cannot reach PostgreSQL: ${(err as Error).message}`,
      );
    }
  }

  const path = join(options.coreRoot, 'db.sqlite');
  let Database: DatabaseConstructor;
  try {
    Database = await (options.loadSqlite ?? loadBetterSqlite)();
  } catch (err) {
    return degraded(path, `SQLite driver unavailable: ${(err as Error).message}`);
  }
  try {
    mkdirSync(options.coreRoot, { recursive: true });
  } catch (err) {
    return degraded(path, `cannot create ${options.coreRoot}: ${(err as Error).message}`);
  }
  try {
    return { store: openSqliteStore(Database, path), quarantined: undefined };
  } catch (err) {
    if (err instanceof AgenticError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (!CORRUPT_CODES.has(code))
      return degraded(path, `cannot open ${path}: ${(err as Error).message}`);
    const quarantined = quarantineDatabase(options.coreRoot, path, now());
    options.logger.warn(
      { quarantined },
      'state store was not a valid SQLite database; moved aside and rebuilt',
    );
    try {
      return { store: openSqliteStore(Database, path), quarantined };
    } catch (again) {
      return degraded(path, `cannot recreate ${path}: ${(again as Error).message}`);
    }
  }
}

async function loadBetterSqlite(): Promise<DatabaseConstructor> {
  const mod = (await import('better-sqlite3')) as { default: DatabaseConstructor };
  return mod.default;
}

function degraded(location: string, reason: string): OpenedStore {
  return { store: createNullStore(location, reason), quarantined: undefined };
}

function quarantineDatabase(coreRoot: string, path: string, now: Date): string {
  const dir = join(coreRoot, 'quarantine');
  mkdirSync(dir, { recursive: true });
  const target = join(dir, `db.sqlite.${compactUtc(now)}`);
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}

/** Hides the password of a connection URL for logs and output. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
