import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { AgenticError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { redactUrl } from '../lib/text.js';
import { damageMarkerPath, isCorruptCode, quarantineSqlite } from './sqlite/damage.js';
import { openSqliteStore } from './sqlite/engine.js';
import { loadBetterSqlite, type DatabaseConstructor } from './sqlite/open-db.js';
import type { StateStore } from './types.js';

/** Options for opening the store of one CoreRoot. */
export interface OpenStoreOptions {
  coreRoot: string;
  /** Where the workspaces live: the file engine of degraded mode keeps their status.json there. */
  workspaceRoot: string;
  /** A pool's total limit, for the file engine's `concurrency` snapshots (default 0). */
  limitOf?: (pool: string) => number;
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

/**
 * Opens the state store. The embedded SQLite store never throws for being unusable: it returns
 * the file engine (degraded mode, src/store/files/) with a reason (docs/ARCHITECTURE.md). The
 * fleet store (PostgreSQL) has no such fallback: an unreachable server throws STORE_UNAVAILABLE
 * naming the redacted URL and the reason. A database file that is not SQLite, or that a query found
 * damaged (it left a `.damaged` marker), is moved to `<CoreRoot>/quarantine/` with its `-wal`
 * and `-shm`, and a fresh one is created (the caller rebuilds it from disk). A
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
      if (err instanceof AgenticError) throw err;
      // No file-engine fallback here: the records are shared, and a node working from its own
      // JSON files would claim work another node owns and, once back, write over it.
      throw fleetStoreUnreachable(options.storeUrl, err);
    }
  }

  const path = join(options.coreRoot, 'db.sqlite');
  let Database: DatabaseConstructor;
  try {
    Database = await (options.loadSqlite ?? loadBetterSqlite)();
  } catch (err) {
    return degraded(options, path, `SQLite driver unavailable: ${(err as Error).message}`);
  }
  try {
    mkdirSync(options.coreRoot, { recursive: true });
  } catch (err) {
    return degraded(options, path, `cannot create ${options.coreRoot}: ${(err as Error).message}`);
  }
  const marker = damageMarkerPath(path);
  // A query (here or in another process) found the database damaged and moved it aside; a
  // fresh one is rebuilt from the workspaces' files. A marker left by `doctor` with the file
  // still in place asks for the move.
  const pending = (): string | undefined => {
    if (!existsSync(marker)) return undefined;
    const recorded = readTextOr(marker, '').trim();
    const where = existsSync(path) ? quarantineSqlite(path, now()) : recorded || 'unknown';
    rmSync(marker, { force: true });
    return where;
  };
  try {
    const quarantined = pending();
    if (quarantined !== undefined)
      options.logger.warn({ quarantined }, 'state store was found damaged; rebuilding it');
    return { store: openSqliteStore(Database, path), quarantined };
  } catch (err) {
    if (!(err instanceof AgenticError && err.code === 'STORE_CORRUPT')) {
      if (err instanceof AgenticError) throw err;
      return degraded(options, path, `cannot open ${path}: ${(err as Error).message}`);
    }
    const quarantined = pending() ?? 'unknown';
    options.logger.warn(
      { quarantined },
      'state store was not a valid SQLite database; moved aside and rebuilt',
    );
    try {
      return { store: openSqliteStore(Database, path), quarantined };
    } catch (again) {
      return degraded(options, path, `cannot recreate ${path}: ${(again as Error).message}`);
    }
  }
}

/** STORE_UNAVAILABLE for a fleet database that did not answer, naming it (redacted) and why. */
export function fleetStoreUnreachable(url: string, err: unknown): AgenticError {
  const why = reasonOf(err);
  return new AgenticError(
    'STORE_UNAVAILABLE',
    `cannot reach the fleet database at ${redactUrl(url)}: ${why}; check that PostgreSQL is up and CORE_AGENT_STORE_URL is right`,
    { cause: err },
  );
}

/** A driver error in words: an AggregateError (every address refused) has an empty message. */
function reasonOf(err: unknown): string {
  if (err instanceof AggregateError && err.message === '' && err.errors.length > 0)
    return reasonOf(err.errors[0]);
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return err.message || (typeof code === 'string' ? code : err.name);
}

function readTextOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** The file engine, loaded only when needed: a healthy start never reads its modules. */
async function degraded(
  options: OpenStoreOptions,
  location: string,
  reason: string,
): Promise<OpenedStore> {
  const { openFileStore } = await import('./files/engine.js');
  const store = openFileStore({
    coreRoot: options.coreRoot,
    workspaceRoot: options.workspaceRoot,
    logger: options.logger,
    location,
    reason,
    ...(options.now ? { now: options.now } : {}),
    ...(options.limitOf ? { limitOf: options.limitOf } : {}),
  });
  return { store, quarantined: undefined };
}

/**
 * Runs `PRAGMA quick_check` on the SQLite state store at `path` over a separate read-only
 * connection: "ok", or the problems SQLite lists (or the error it raised). A damaged database
 * gets the marker, so the next open moves it aside and rebuilds it. Never throws.
 */
export async function checkSqliteIntegrity(path: string): Promise<string> {
  let result: string;
  let corrupt = false;
  try {
    const Database = await loadBetterSqlite();
    const db = new (
      Database as unknown as new (
        p: string,
        o: { readonly: boolean; fileMustExist: boolean },
      ) => SqliteDatabase
    )(path, { readonly: true, fileMustExist: true });
    try {
      const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
      result = rows.map((r) => r.quick_check).join('; ');
      corrupt = result !== 'ok';
    } finally {
      db.close();
    }
  } catch (err) {
    result = err instanceof Error ? err.message : String(err);
    corrupt = isCorruptCode(String((err as { code?: unknown }).code ?? ''));
  }
  if (corrupt) {
    try {
      writeFileSync(damageMarkerPath(path), `quick_check: ${result}\n`);
    } catch {
      // Reported below all the same.
    }
  }
  return result;
}
