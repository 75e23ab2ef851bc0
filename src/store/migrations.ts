import { readdirSync, readFileSync } from 'node:fs';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type pg from 'pg';
import { fileURLToPath } from 'node:url';
import { AgenticError } from '../lib/errors.js';

/** One numbered plain-SQL migration. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** A folder of migrations: the state store's (`sqlite`, `postgres`) or the hub's (`hub-sqlite`, `hub-postgres`). */
export type MigrationSet = 'sqlite' | 'postgres' | 'hub-sqlite' | 'hub-postgres';

/** Loads `migrations/<set>/NNN_name.sql` from the package, ordered by number. */
export function loadMigrations(set: MigrationSet): Migration[] {
  // Same relative depth from src/store and dist/store, so this works built or from source.
  const dir = fileURLToPath(new URL(`../../migrations/${set}/`, import.meta.url));
  return readdirSync(dir)
    .filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
    .map((f) => ({
      version: Number.parseInt(f, 10),
      name: f.replace(/\.sql$/, ''),
      sql: readFileSync(dir + f, 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
}

/** Which migrations to apply, where their versions are recorded, and what to call the database in errors. */
export interface MigrationTarget {
  set: MigrationSet;
  /** Table recording applied versions, e.g. `schema_migrations`. */
  table: string;
  /** Human name for errors: "state store", "hub database". */
  what: string;
}

function tooNew(target: MigrationTarget, have: number, latest: number): AgenticError {
  return new AgenticError(
    'STORE_SCHEMA_TOO_NEW',
    `the ${target.what} was written by a newer agentic (schema ${have}, this build knows ${latest}); upgrade agentic`,
  );
}

/**
 * Applies the missing migrations of `target` to a SQLite database in one IMMEDIATE
 * transaction, so processes starting together are safe. Returns the applied version; throws
 * STORE_SCHEMA_TOO_NEW when the database is newer than this build.
 */
export function migrateSqlite(
  db: SqliteDatabase,
  target: MigrationTarget,
  now: () => Date,
): number {
  const migrations = loadMigrations(target.set);
  const latest = migrations.at(-1)?.version ?? 0;
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${target.table} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
  );
  const current = (): number =>
    (
      db.prepare(`SELECT COALESCE(MAX(version), 0) AS v FROM ${target.table}`).get() as {
        v: number;
      }
    ).v;
  const apply = db.transaction(() => {
    const have = current();
    if (have > latest) throw tooNew(target, have, latest);
    for (const m of migrations) {
      if (m.version <= have) continue;
      db.exec(m.sql);
      db.prepare(`INSERT INTO ${target.table} (version, name, applied_at) VALUES (?, ?, ?)`).run(
        m.version,
        m.name,
        now().toISOString(),
      );
    }
    return current();
  });
  return apply.immediate();
}

/**
 * Applies the missing migrations of `target` inside the caller's PostgreSQL transaction, under
 * the advisory lock `lockKey` so nodes starting together are safe. Returns the applied version;
 * throws STORE_SCHEMA_TOO_NEW when the database is newer than this build.
 */
export async function migratePostgres(
  client: Pick<pg.PoolClient, 'query'>,
  target: MigrationTarget,
  lockKey: number,
  now: () => Date,
): Promise<number> {
  const migrations = loadMigrations(target.set);
  const latest = migrations.at(-1)?.version ?? 0;
  await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${target.table} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
  );
  const current = async (): Promise<number> =>
    (
      await client.query<{ v: number }>(
        `SELECT COALESCE(MAX(version), 0)::int AS v FROM ${target.table}`,
      )
    ).rows[0]?.v ?? 0;
  const have = await current();
  if (have > latest) throw tooNew(target, have, latest);
  for (const m of migrations) {
    if (m.version <= have) continue;
    await client.query(m.sql);
    await client.query(
      `INSERT INTO ${target.table} (version, name, applied_at) VALUES ($1, $2, $3)`,
      [m.version, m.name, now().toISOString()],
    );
  }
  return current();
}
