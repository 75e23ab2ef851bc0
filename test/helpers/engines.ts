import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { tempRoot, type TempRoot } from './context.js';

/** A store engine the behavioural suites run against. */
export interface EngineCase {
  name: 'sqlite' | 'postgres';
  /** CORE_AGENT_STORE_URL for this engine (a fresh database), or undefined for SQLite. */
  storeUrl(): Promise<string | undefined>;
}

/** Creates a fresh database on the test cluster (or the cluster at `base`) and returns its URL. */
export async function freshPostgresDatabase(base = inject('postgresUrl')): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return base.replace(/\/[^/]*$/, `/${name}`);
}

/** The engines available in this run: SQLite always, PostgreSQL when the cluster started (always under CI). */
export function engines(): EngineCase[] {
  const cases: EngineCase[] = [{ name: 'sqlite', storeUrl: async () => undefined }];
  if (inject('postgresUrl')) cases.push({ name: 'postgres', storeUrl: freshPostgresDatabase });
  return cases;
}

/** A temp CoreRoot whose contexts and CLI runs use `engine` (for PostgreSQL, a fresh database). */
export async function tempRootOn(engine: EngineCase, prefix?: string): Promise<TempRoot> {
  const root = tempRoot(prefix);
  const url = await engine.storeUrl();
  if (url !== undefined) root.env['CORE_AGENT_STORE_URL'] = url;
  return root;
}
