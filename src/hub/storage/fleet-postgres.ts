import type pg from 'pg';
import type { Logger } from '../../lib/logger.js';
import { loadMigrations } from '../../store/migrations.js';
import type { StateStore } from '../../store/index.js';
import type { FleetSource } from './types.js';

/**
 * The fleet's state store in the hub's PostgreSQL database, looked for on every request (nodes
 * may start using the database after the hub did) and opened once found. The hub only reads it
 * and never migrates it: it opens the store only when the store's schema is exactly the one this
 * build reads, since migrating the fleet's tables ahead of its nodes would stop them
 * (STORE_SCHEMA_TOO_NEW), and a schema this build does not know might not read as it expects.
 */
export class PostgresFleetSource {
  private opening: Promise<StateStore> | undefined;
  private closed = false;

  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  /** The store, or why the Fleet view has nothing to show. */
  async source(): Promise<FleetSource> {
    const { rows } = await this.pool.query<{ migrations: boolean; kv: boolean }>(
      "SELECT to_regclass('schema_migrations') IS NOT NULL AS migrations, to_regclass('kv') IS NOT NULL AS kv",
    );
    if (rows[0]?.migrations !== true || rows[0].kv !== true)
      return {
        reason:
          'this database holds no fleet state store yet: no node uses it as CORE_AGENT_STORE_URL',
      };
    const have =
      (
        await this.pool.query<{ v: number }>(
          'SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations',
        )
      ).rows[0]?.v ?? 0;
    const reads = loadMigrations('postgres').at(-1)?.version ?? 0;
    if (have < reads)
      return {
        reason: `the fleet's state store is at schema ${have} and this hub reads ${reads}; the hub never migrates the fleet's tables, so upgrade the nodes`,
      };
    if (have > reads)
      return {
        reason: `the fleet's state store is at schema ${have}, newer than this hub reads (${reads}); upgrade the hub`,
      };
    try {
      return { store: await this.open() };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn({ err: message }, "cannot open the fleet's state store");
      return { reason: `cannot open the fleet's state store: ${message}` };
    }
  }

  /** Closes the store when it was opened; later calls of {@link source} open none. */
  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    this.opening = undefined;
    await opening?.then((store) => store.close()).catch(() => undefined);
  }

  private open(): Promise<StateStore> {
    if (this.closed) return Promise.reject(new Error('the hub database is closed'));
    this.opening ??= import('../../store/postgres/engine.js')
      .then(({ openPostgresStore }) => openPostgresStore(this.url, { logger: this.logger, max: 2 }))
      .catch((err: unknown) => {
        // The next request tries again (the database may have been briefly away).
        this.opening = undefined;
        throw err;
      });
    return this.opening;
  }
}
