-- Claims in one statement (fleet mode). A claim used to read the frozen flag, the runtime rows
-- and the pool counter with SELECT … FOR UPDATE and keep them locked across ~25 client round
-- trips until COMMIT, so every claim and run end in the fleet passed one at a time. Here the
-- shared rows are held for one server-side call: the frozen flag under a SHARE lock (claims do
-- not wait for each other; `agentic stop` waits for the claims in flight and every later claim
-- sees it), the pool counter only from its guarded increment to the end of the call.
-- The queue expressions must stay exactly those of migration 003's index and the engine's
-- queue query (src/store/postgres/queue-sql.ts).

-- The `updated_at` of a new version: now, but always 1 ms after the version it replaces when now
-- is not later (the same rule as the TypeScript nextStamp; a stamp that is no ISO time counts as
-- absent). ISO strings in UTC with milliseconds, as JavaScript's toISOString writes them.
CREATE OR REPLACE FUNCTION agentic_stamp(p_now text, p_old text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(
    CASE WHEN p_old ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$'
      THEN GREATEST(p_now::timestamptz, p_old::timestamptz + interval '1 millisecond')
      ELSE p_now::timestamptz END AT TIME ZONE 'UTC',
    'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Claims up to p_max queued workspaces for node p_node in claim order (priority high first,
-- then queued_at oldest first, then name), leaving out the pools in p_skip (paused or
-- rate-limited: the caller decides those) and entries pinned to another node. p_limits is
-- {"default": L, "pools": {pool: L}} with L = {"total": n, "models": {model: n}}.
-- Returns ('frozen', NULL, NULL) when dispatching is frozen; ('claim', name, record) per claim;
-- ('waiting', pool, NULL) for each pool of p_skip that has work this node could claim.
-- Exactness: `running` of a pool grows only in the guarded UPDATE below, which PostgreSQL
-- re-checks on the newest row version after any lock wait, so two nodes never take one slot.
CREATE OR REPLACE FUNCTION agentic_claim(
  p_node text, p_max int, p_now text, p_skip text[], p_limits jsonb
) RETURNS TABLE (kind text, name text, value jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
  closed text[] := p_skip;
  closed_models text[] := '{}';   -- pool || E'\x1f' || model
  passed text[] := '{}';          -- entries this call walks past (held elsewhere, pinned)
  n int := 0;
  j record;
  rec jsonb;
  snap jsonb;
  agent text;
  pl text;
  mdl text;
  lim int;
  mlim int;
  sk text;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtextextended('runner/frozen', 0));
  IF (SELECT k.value FROM kv k WHERE k.grp = 'runner' AND k.key = 'frozen' FOR SHARE) = 'true'::jsonb THEN
    kind := 'frozen'; name := NULL; value := NULL; RETURN NEXT;
    RETURN;
  END IF;
  LOOP
    EXIT WHEN n >= p_max;
    WITH RECURSIVE pools (pool) AS (
      (SELECT split_part(COALESCE(q.value->>'agent', ''), ':', 1) COLLATE "C" FROM kv q
        WHERE q.grp = 'queue' ORDER BY 1 LIMIT 1)
      UNION ALL
      SELECT (SELECT split_part(COALESCE(q.value->>'agent', ''), ':', 1) COLLATE "C" FROM kv q
               WHERE q.grp = 'queue'
                 AND split_part(COALESCE(q.value->>'agent', ''), ':', 1) COLLATE "C" > pools.pool
               ORDER BY 1 LIMIT 1)
        FROM pools WHERE pools.pool IS NOT NULL
    )
    SELECT head.key, head.value INTO j FROM pools, LATERAL (
      SELECT q.key, q.value,
             (-(CASE WHEN jsonb_typeof(q.value->'priority') = 'number' THEN (q.value->>'priority')::numeric ELSE 0 END)) AS np,
             (CASE WHEN jsonb_typeof(q.value->'queued_at') = 'string' THEN q.value->>'queued_at' ELSE '' END) COLLATE "C" AS qa
        FROM kv q
       WHERE q.grp = 'queue'
         AND split_part(COALESCE(q.value->>'agent', ''), ':', 1) COLLATE "C" = pools.pool
         AND (jsonb_typeof(q.value->'node_affinity') IS DISTINCT FROM 'string' OR q.value->>'node_affinity' = p_node)
         AND q.key <> ALL (passed)
         AND (strpos(COALESCE(q.value->>'agent', ''), ':') = 0
              OR (pools.pool || E'\x1f' || substr(q.value->>'agent', strpos(q.value->>'agent', ':') + 1)) <> ALL (closed_models))
       ORDER BY 3, 4, q.key COLLATE "C"
       LIMIT 1
       FOR UPDATE OF q SKIP LOCKED
    ) head
    WHERE pools.pool IS NOT NULL AND pools.pool <> ALL (closed)
    ORDER BY head.np, head.qa, head.key COLLATE "C"
    LIMIT 1;
    EXIT WHEN NOT FOUND;
    SELECT r.value INTO rec FROM kv r WHERE r.grp = 'registry' AND r.key = j.key FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
      -- Held by a cancel or an edit in flight (it will requeue or remove it), or gone.
      IF EXISTS (SELECT 1 FROM kv r WHERE r.grp = 'registry' AND r.key = j.key) THEN
        passed := passed || j.key;
      ELSE
        DELETE FROM kv q WHERE q.grp = 'queue' AND q.key = j.key;
      END IF;
      CONTINUE;
    END IF;
    -- A queue entry is trusted only as far as the registry agrees it is queued.
    IF rec->>'status' IS DISTINCT FROM 'queued' OR jsonb_typeof(rec->'agent') IS DISTINCT FROM 'string' THEN
      DELETE FROM kv q WHERE q.grp = 'queue' AND q.key = j.key;
      CONTINUE;
    END IF;
    IF jsonb_typeof(rec->'node_affinity') = 'string' AND rec->>'node_affinity' <> p_node THEN
      passed := passed || j.key;
      CONTINUE;
    END IF;
    agent := rec->>'agent';
    pl := split_part(agent, ':', 1);
    mdl := CASE WHEN strpos(agent, ':') > 0 THEN substr(agent, strpos(agent, ':') + 1) END;
    IF pl <> ALL (closed) THEN
      lim := COALESCE((p_limits #>> ARRAY['pools', pl, 'total'])::int, (p_limits #>> '{default,total}')::int);
      mlim := CASE WHEN mdl IS NULL THEN NULL ELSE (p_limits #>> ARRAY['pools', pl, 'models', mdl])::int END;
      IF lim IS NULL THEN
        closed := closed || pl;
        CONTINUE;
      END IF;
      UPDATE kv c SET value = jsonb_build_object(
          'running', COALESCE((c.value->>'running')::int, 0) + 1,
          'limit', lim,
          'snapshot_at', p_now,
          'models', CASE WHEN mdl IS NULL THEN COALESCE(c.value->'models', '{}'::jsonb)
                    ELSE jsonb_set(COALESCE(c.value->'models', '{}'::jsonb), ARRAY[mdl],
                           to_jsonb(COALESCE((c.value #>> ARRAY['models', mdl])::int, 0) + 1)) END)
       WHERE c.grp = 'concurrency' AND c.key = pl
         AND COALESCE((c.value->>'running')::int, 0) < lim
         AND (mlim IS NULL OR COALESCE((c.value #>> ARRAY['models', mdl])::int, 0) < mlim);
      IF NOT FOUND THEN
        SELECT c.value INTO snap FROM kv c WHERE c.grp = 'concurrency' AND c.key = pl;
        IF NOT FOUND THEN
          -- The pool's first run: its counter row is created, then this entry is tried again.
          INSERT INTO kv (grp, key, value)
            VALUES ('concurrency', pl, jsonb_build_object('running', 0, 'limit', lim, 'snapshot_at', p_now, 'models', '{}'::jsonb))
            ON CONFLICT DO NOTHING;
        ELSIF COALESCE((snap->>'running')::int, 0) >= lim THEN
          closed := closed || pl;
        ELSIF mdl IS NOT NULL THEN
          closed_models := closed_models || (pl || E'\x1f' || mdl);
        END IF;  -- else a slot was freed just now: this entry is tried again
        CONTINUE;
      END IF;
    ELSE
      CONTINUE;
    END IF;
    DELETE FROM kv q WHERE q.grp = 'queue' AND q.key = j.key;
    rec := (rec - 'pid' - 'pid_start')
      || jsonb_build_object('status', 'running', 'node', p_node, 'updated_at', agentic_stamp(p_now, rec->>'updated_at'));
    UPDATE kv r SET value = rec WHERE r.grp = 'registry' AND r.key = j.key;
    INSERT INTO kv (grp, key, value) VALUES ('running', j.key, to_jsonb(agent))
      ON CONFLICT (grp, key) DO UPDATE SET value = EXCLUDED.value;
    kind := 'claim'; name := j.key; value := rec; RETURN NEXT;
    n := n + 1;
  END LOOP;
  FOREACH sk IN ARRAY p_skip LOOP
    IF EXISTS (SELECT 1 FROM kv q WHERE q.grp = 'queue'
                 AND split_part(COALESCE(q.value->>'agent', ''), ':', 1) COLLATE "C" = sk
                 AND (jsonb_typeof(q.value->'node_affinity') IS DISTINCT FROM 'string' OR q.value->>'node_affinity' = p_node)) THEN
      kind := 'waiting'; name := sk; value := NULL; RETURN NEXT;
    END IF;
  END LOOP;
END
$fn$;

-- Ends runs in one statement (fleet mode). p_items is an array of
-- {"name", "seen": the updated_at the caller decided on, "record": the new record without its
-- stamp, "queue": its queue entry when it is queued again, "terminal": true when it ends}.
-- Each record is replaced only if it is still the version the caller read, running on p_node
-- (a cancel written meanwhile, a takeover or another node's write makes it a 'miss': the caller
-- decides again). Returns ('ended', name, stamped record) or ('miss', name, NULL) per item.
-- The derived rows change as the TypeScript track changes them: the running row goes, the
-- pool's counter drops, a terminal record is listed in `uncommitted`, a queued one in `queue`.
CREATE OR REPLACE FUNCTION agentic_end(p_node text, p_now text, p_items jsonb)
RETURNS TABLE (kind text, name text, value jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
  it jsonb;
  rec jsonb;
  agent text;
  pl text;
  mdl text;
BEGIN
  FOR it IN SELECT e FROM jsonb_array_elements(p_items) e ORDER BY e->>'name' LOOP
    UPDATE kv r SET value = (it->'record')
        || jsonb_build_object('updated_at', agentic_stamp(p_now, r.value->>'updated_at'))
     WHERE r.grp = 'registry' AND r.key = it->>'name'
       AND r.value->>'updated_at' = it->>'seen'
       AND r.value->>'status' = 'running'
       AND (r.value->>'node' IS NULL OR r.value->>'node' = p_node)
       AND COALESCE((it #>> '{record,epoch}')::int, 0) >= COALESCE((r.value->>'epoch')::int, 0)
    RETURNING r.value INTO rec;
    IF NOT FOUND THEN
      kind := 'miss'; name := it->>'name'; value := NULL; RETURN NEXT;
      CONTINUE;
    END IF;
    DELETE FROM kv r WHERE r.grp = 'running' AND r.key = it->>'name' RETURNING r.value #>> '{}' INTO agent;
    IF FOUND AND agent IS NOT NULL THEN
      pl := split_part(agent, ':', 1);
      mdl := CASE WHEN strpos(agent, ':') > 0 THEN substr(agent, strpos(agent, ':') + 1) END;
      UPDATE kv c SET value = jsonb_build_object(
          'running', GREATEST(0, COALESCE((c.value->>'running')::int, 0) - 1),
          'limit', COALESCE(c.value->'limit', '0'::jsonb),
          'snapshot_at', p_now,
          'models', CASE
            WHEN mdl IS NULL THEN COALESCE(c.value->'models', '{}'::jsonb)
            WHEN COALESCE((c.value #>> ARRAY['models', mdl])::int, 0) <= 1
              THEN COALESCE(c.value->'models', '{}'::jsonb) - mdl
            ELSE jsonb_set(c.value->'models', ARRAY[mdl],
                   to_jsonb((c.value #>> ARRAY['models', mdl])::int - 1)) END)
       WHERE c.grp = 'concurrency' AND c.key = pl;
    END IF;
    IF (it->>'terminal')::boolean THEN
      INSERT INTO kv (grp, key, value)
        VALUES ('uncommitted', it->>'name', to_jsonb((rec->>'updated_at') || '#' || (rec->>'runs')))
        ON CONFLICT (grp, key) DO UPDATE SET value = EXCLUDED.value;
    ELSIF jsonb_typeof(it->'queue') = 'object' THEN
      INSERT INTO kv (grp, key, value) VALUES ('queue', it->>'name', it->'queue')
        ON CONFLICT (grp, key) DO UPDATE SET value = EXCLUDED.value;
    END IF;
    kind := 'ended'; name := it->>'name'; value := rec; RETURN NEXT;
  END LOOP;
END
$fn$;
