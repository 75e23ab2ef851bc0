import { createHash } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { systemClock, type Clock } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { checkBounds, MAX_RECORD_BYTES, MAX_RECORD_DEPTH, type RecordBounds } from './bounds.js';
import {
  authenticate,
  authorizeAgent,
  dashboardScope,
  requireAdmin,
  requireFleetReader,
  type Principal,
} from './auth.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page.js';
import { dashboardData } from './dashboard.js';
import { dashboardFleet, type FleetReader } from './fleet.js';
import { toErrorResponse } from './http-errors.js';
import { DEFAULT_ONLINE_WINDOW_MS, presenceOf } from './presence.js';
import type { HubStorage } from './storage/index.js';
import {
  CONTEXT_MAX_ITEMS,
  contextQuerySchema,
  statusQuerySchema,
  syncBodySchema,
} from '../protocol/sync-wire.js';
import { parseInput } from '../lib/parse-input.js';
import { dashboardQuerySchema, noteBodySchema, parseJson, toIngestRecord } from './wire.js';

/** Default request body limit: 10 MiB (a 500-record push is typically well under 1 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Default most records one push may carry. */
export const DEFAULT_MAX_RECORDS = 10_000;
/** Default time an Idempotency-Key is remembered: 7 days (far beyond the client's retry horizon). */
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 7 * 24 * 3600_000;

const PRUNE_EVERY_MS = 3600_000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Options of {@link createHubApp}; everything but `storage` has a default. */
export interface HubAppOptions {
  storage: HubStorage;
  clock?: Clock;
  /** Request and error logs; never given tokens or headers. Default: silent. */
  logger?: Logger;
  /** Larger request bodies get 413. Default {@link DEFAULT_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** More records in one push get 400. Default {@link DEFAULT_MAX_RECORDS}. */
  maxRecords?: number;
  /** Records (and note fields) nested deeper get 400. Default {@link MAX_RECORD_DEPTH}. */
  maxRecordDepth?: number;
  /** Records (and notes) larger than this as JSON get 400. Default {@link MAX_RECORD_BYTES}. */
  maxRecordBytes?: number;
  /** An agent that pushed or pulled within this window is `online`. Default 15 min. */
  onlineWindowMs?: number;
  /** How long an Idempotency-Key replays its first response. Default 7 days. */
  idempotencyRetentionMs?: number;
  /** Reads the fleet for the dashboard's Fleet view (src/fleet `fleetState`). Default: none, the view says so. */
  fleetReader?: FleetReader;
}

type Env = { Variables: { principal: Principal | undefined } };

/**
 * Builds the hub's HTTP application (README: Hub): `POST /v1/agent/sync`, `GET|POST
 * /v1/agent/context`, `GET /v1/agent/status`, `GET /v1/dashboard`, `GET /v1/dashboard/fleet`,
 * `GET /healthz` and the dashboard page at `/`. Errors are mapped by {@link toErrorResponse}.
 */
export function createHubApp(options: HubAppOptions): Hono<Env> {
  const { storage } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const syncSchema = syncBodySchema(options.maxRecords ?? DEFAULT_MAX_RECORDS);
  const onlineWindowMs = options.onlineWindowMs ?? DEFAULT_ONLINE_WINDOW_MS;
  const retentionMs = options.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS;
  const bounds: RecordBounds = {
    maxDepth: options.maxRecordDepth ?? MAX_RECORD_DEPTH,
    maxBytes: options.maxRecordBytes ?? MAX_RECORD_BYTES,
  };
  let lastPrune = 0;

  const app = new Hono<Env>();
  const limit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new AgenticError(
        'PAYLOAD_TOO_LARGE',
        `request body exceeds ${maxBodyBytes} bytes; send fewer records per push`,
        { field: 'body' },
      );
    },
  });

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    // Only method, path (never the query: a dashboard link may carry ?token=) and outcome are logged.
    logger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        agent_id: c.get('principal')?.agentId ?? undefined,
      },
      'request',
    );
  });

  app.use('/v1/*', async (c, next) => {
    c.set('principal', await authenticate(storage, c.req.header('authorization')));
    c.header('Cache-Control', 'no-store');
    await next();
  });

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    const { status, body } = toErrorResponse(err, logger);
    if (status === 401) c.header('WWW-Authenticate', 'Bearer');
    return c.json(body, status);
  });
  app.notFound((c) => {
    const { status, body } = toErrorResponse(
      new AgenticError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`),
      logger,
    );
    return c.json(body, status);
  });

  app.get('/healthz', async (c) => {
    try {
      await storage.ping();
    } catch (err) {
      throw new AgenticError('STORE_UNAVAILABLE', 'the hub database does not answer', {
        cause: err,
      });
    }
    return c.json({ status: 'ok', engine: storage.engine, schema_version: storage.schemaVersion });
  });

  app.get('/', (c) => {
    c.header('Content-Security-Policy', DASHBOARD_CSP);
    c.header('Cache-Control', 'no-store');
    return c.html(DASHBOARD_HTML);
  });

  app.post('/v1/agent/sync', limit, async (c) => {
    const principal = principalOf(c);
    const body = parseInput(syncSchema, parseJson(await c.req.text()));
    authorizeAgent(principal, body.agent_id);
    body.dispatches.forEach((d, i) => checkBounds(d, `dispatches[${i}]`, bounds));
    const key = c.req.header('idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
      throw new AgenticError(
        'INPUT_INVALID',
        'Idempotency-Key: expected 1-255 visible ASCII characters',
        { field: 'Idempotency-Key' },
      );
    const now = clock.now();
    const fleetNodeId = body.fleet_node_id ?? null;
    const outcome = await storage.ingest({
      agentId: body.agent_id,
      fleetNodeId,
      idempotencyKey: key ?? null,
      // A key stands for the same dispatch versions, whatever the JSON key order of a retry.
      requestHash: createHash('sha256')
        .update(
          JSON.stringify([
            body.agent_id,
            fleetNodeId,
            body.dispatches.map((d) => [d.id, d.fingerprint]),
          ]),
        )
        .digest('hex'),
      receivedAt: now.toISOString(),
      records: body.dispatches.map(toIngestRecord),
    });
    switch (outcome.kind) {
      case 'key-reused':
        throw new AgenticError(
          'IDEMPOTENCY_KEY_REUSED',
          'Idempotency-Key was already used for a different batch; use a new key per batch',
          { field: 'Idempotency-Key' },
        );
      case 'replayed':
        c.header('Idempotent-Replayed', 'true');
        return c.json(outcome.response, 200);
      case 'stored':
        await prune(now);
        return c.json(outcome.response, 200);
    }
  });

  app.get('/v1/agent/context', async (c) => {
    const principal = principalOf(c);
    const q = parseInput(contextQuerySchema, c.req.query());
    authorizeAgent(principal, q.agent_id);
    const since = q.since === undefined ? undefined : new Date(q.since).toISOString();
    const limit = q.limit ?? CONTEXT_MAX_ITEMS;
    const page =
      q.cursor === undefined
        ? undefined
        : await storage.contextPage(q.agent_id, Number(q.cursor), since, limit);
    const items = page?.items ?? (await storage.context(q.agent_id, since, limit));
    // An operator reading an agent's context is not that agent pulling.
    if (principal.agentId === q.agent_id)
      await storage.recordPull(q.agent_id, clock.now().toISOString());
    if (page === undefined) return c.json({ data: items });
    return c.json({ data: items, cursor: String(page.cursor), has_more: page.hasMore });
  });

  app.post('/v1/agent/context', limit, async (c) => {
    requireAdmin(principalOf(c));
    const { text, agent_id, ...extra } = parseInput(noteBodySchema, parseJson(await c.req.text()));
    checkBounds(extra, 'body', bounds);
    const note = await storage.addNote({
      text,
      agentId: agent_id ?? null,
      extra,
      createdAt: clock.now().toISOString(),
    });
    return c.json({ data: note }, 201);
  });

  app.get('/v1/agent/status', async (c) => {
    const principal = principalOf(c);
    const q = parseInput(statusQuerySchema, c.req.query());
    authorizeAgent(principal, q.agent_id);
    const [row, contextCount] = await Promise.all([
      storage.agent(q.agent_id),
      storage.contextCount(q.agent_id),
    ]);
    return c.json({
      data: {
        agent_id: q.agent_id,
        status: presenceOf(row, clock.now(), onlineWindowMs),
        last_push_at: row?.lastPushAt ?? null,
        last_pull_at: row?.lastPullAt ?? null,
        // The hub holds no queue of its own; queued entries live on the node.
        queued: 0,
        context_count: contextCount,
      },
    });
  });

  app.get('/v1/dashboard', async (c) => {
    const q = parseInput(dashboardQuerySchema, c.req.query());
    // An agent token sees its own records only; the fleet view needs an admin or viewer token.
    const scope = dashboardScope(principalOf(c), q.agent_id);
    const data = await dashboardData(
      storage,
      { agentId: q.agent_id, status: q.status, repo: q.repo, limit: q.limit },
      clock.now(),
      onlineWindowMs,
      scope,
    );
    return c.json(data);
  });

  app.get('/v1/dashboard/fleet', async (c) => {
    requireFleetReader(principalOf(c));
    return c.json(await dashboardFleet(storage, options.fleetReader, clock.now()));
  });

  async function prune(now: Date): Promise<void> {
    if (now.getTime() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now.getTime();
    try {
      const removed = await storage.pruneIdempotency(
        new Date(now.getTime() - retentionMs).toISOString(),
      );
      if (removed > 0) logger.debug({ removed }, 'pruned expired idempotency keys');
    } catch (err) {
      logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'idempotency prune failed',
      );
    }
  }

  return app;
}

function principalOf(c: Context<Env>): Principal {
  const principal = c.get('principal');
  if (principal === undefined)
    throw new AgenticError('INTERNAL', 'route reached without authentication');
  return principal;
}
