import type pg from 'pg';
import type { Logger } from '../../lib/logger.js';
import { migratePostgres, type MigrationTarget } from '../migrations.js';
import { inTransaction } from './transaction.js';

/** How to open a migrated pool: its size, extra connection settings, and what to migrate under which lock. */
export interface PoolOptions {
  logger: Logger;
  max: number;
  /** Session settings every pooled connection starts with. */
  settings?: Pick<pg.PoolConfig, 'lock_timeout' | 'idle_in_transaction_session_timeout'>;
  target: MigrationTarget;
  /** The advisory lock held while migrating, so nodes starting together are safe. */
  lockKey: number;
  now: () => Date;
}

/**
 * Opens a small pool on `url` (the driver loads here, so other verbs never pay for it) and
 * applies the missing migrations under the advisory lock. Ends the pool and rethrows when that
 * fails: STORE_SCHEMA_TOO_NEW for a newer schema, connection errors as they are.
 */
export async function openMigratedPool(
  url: string,
  options: PoolOptions,
): Promise<{ pool: pg.Pool; schemaVersion: number }> {
  const { default: driver } = await import('pg');
  const pool = new driver.Pool({
    connectionString: url,
    max: options.max,
    connectionTimeoutMillis: 5_000,
    ...options.settings,
  });
  pool.on('error', (err) =>
    options.logger.warn({ err: err.message }, 'idle PostgreSQL connection failed'),
  );
  try {
    const schemaVersion = await inTransaction(pool, (client) =>
      migratePostgres(client, options.target, options.lockKey, options.now),
    );
    return { pool, schemaVersion };
  } catch (err) {
    await pool.end();
    throw err;
  }
}
