import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AgenticError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { redactUrl } from '../../lib/text.js';
import { loadBetterSqlite } from '../../store/sqlite/open-db.js';
import type { HubStorage } from './types.js';

/** True when `db` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

/**
 * Opens the hub database named by `--db`: `postgres://…` for PostgreSQL, anything else is a
 * SQLite file path (its folder is created). The drivers load lazily, so other verbs never pay
 * for them. Throws STORE_UNAVAILABLE naming the database when it cannot be opened, and
 * STORE_SCHEMA_TOO_NEW when a newer agentic migrated it.
 */
export async function openHubStorage(
  db: string,
  options: { logger: Logger; now: () => Date },
): Promise<HubStorage> {
  if (db.trim() === '')
    throw new AgenticError('USAGE', 'the hub database must be a file path or a postgres:// URL', {
      field: 'db',
    });
  if (isPostgresUrl(db)) {
    const { openPostgresHubStorage } = await import('./postgres.js');
    try {
      return await openPostgresHubStorage(db, options);
    } catch (err) {
      throw unavailable(redactUrl(db), err);
    }
  }
  const path = resolve(db);
  try {
    const { openSqliteHubStorage } = await import('./sqlite.js');
    const Database = await loadBetterSqlite();
    mkdirSync(dirname(path), { recursive: true });
    return openSqliteHubStorage(Database, path, options.now);
  } catch (err) {
    throw unavailable(path, err);
  }
}

function unavailable(location: string, err: unknown): AgenticError {
  if (err instanceof AgenticError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AgenticError(
    'STORE_UNAVAILABLE',
    `cannot open the hub database ${location}: ${message}`,
    { cause: err, field: 'db' },
  );
}
