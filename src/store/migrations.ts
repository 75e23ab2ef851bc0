import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
