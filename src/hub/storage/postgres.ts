import type pg from 'pg';
import type { Logger } from '../../lib/logger.js';
import { redactUrl } from '../../lib/text.js';
import { openMigratedPool } from '../../store/postgres/pool.js';
import { inTransaction } from '../../store/postgres/transaction.js';
import { PostgresFleetSource } from './fleet-postgres.js';
import { ingestPostgres, postgresParam } from './ingest-postgres.js';
import type { SqlValue } from './queries.js';
import { SqlHubStorage, type HubDb } from './sql-storage.js';
import type { HubStorage } from './types.js';

/** Advisory lock key held while migrating the hub schema ("hub0" in ASCII). */
const MIGRATE_LOCK = 0x68756230;

/**
 * Opens the hub's PostgreSQL database at `url`: a small pool, migrations from
 * `migrations/hub-postgres/` under an advisory lock. Hub tables are prefixed `hub_`, so the
 * database may be the fleet's state store: the dashboard then shows the fleet's nodes. Throws STORE_SCHEMA_TOO_NEW for a newer schema;
 * connection errors propagate.
 */
export async function openPostgresHubStorage(
  url: string,
  options: { logger: Logger; now: () => Date; max?: number },
): Promise<HubStorage> {
  const { pool, schemaVersion } = await openMigratedPool(url, {
    logger: options.logger,
    max: options.max ?? 8,
    target: { set: 'hub-postgres', table: 'hub_schema_migrations', what: 'hub database' },
    lockKey: MIGRATE_LOCK,
    now: options.now,
  });
  const fleet = new PostgresFleetSource(pool, url, options.logger);
  return new SqlHubStorage({
    engine: 'postgres',
    location: redactUrl(url),
    schemaVersion,
    db: postgresDb(pool, pool),
    param: postgresParam,
    arrays: true,
    ingest: (batch) => ingestPostgres(pool, batch),
    fleetSource: () => fleet.source(),
    close: async () => {
      await fleet.close();
      await pool.end();
    },
  });
}

/**
 * Statements on the pool, or inside a transaction on one of its connections. A `read` needs no
 * transaction: at READ COMMITTED each statement takes its own snapshot anyway, and the caller
 * orders its reads so that is enough.
 */
function postgresDb(pool: pg.Pool, on: Pick<pg.PoolClient, 'query'>): HubDb {
  const query = (sql: string, params: readonly SqlValue[] = []) =>
    on.query(sql, params as unknown[]);
  const db: HubDb = {
    all: async <T>(sql: string, params?: readonly SqlValue[]) =>
      (await query(sql, params)).rows as T[],
    get: async <T>(sql: string, params?: readonly SqlValue[]) =>
      (await query(sql, params)).rows[0] as T | undefined,
    run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
    tx: (mode, fn) =>
      mode === 'read' ? fn(db) : inTransaction(pool, (client) => fn(postgresDb(pool, client))),
  };
  return db;
}
