/**
 * PostgreSQL schema migrations, applied in order under an advisory lock; `agw_schema_version` records the last
 * one applied. Ids are compared byte-wise (`COLLATE "C"`): creation order is id order, which cursors rely on.
 */
export const migrations: string[] = [
  `
  CREATE TABLE runs (
    id TEXT COLLATE "C" PRIMARY KEY,
    agent TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    last_seq INTEGER NOT NULL DEFAULT 0,
    node_id TEXT,
    claimed_at TEXT,
    body TEXT NOT NULL
  );
  CREATE INDEX runs_status ON runs (status, id);
  CREATE INDEX runs_agent ON runs (agent, id);
  CREATE INDEX runs_finished ON runs (finished_at);
  CREATE INDEX runs_node ON runs (node_id, status);
  CREATE TABLE events (
    owner_id TEXT COLLATE "C" NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (owner_id, seq)
  );
  CREATE TABLE sessions (
    id TEXT COLLATE "C" PRIMARY KEY,
    agent TEXT NOT NULL,
    agent_session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    node_id TEXT,
    body TEXT NOT NULL
  );
  CREATE INDEX sessions_agent_session ON sessions (agent_session_id);
  CREATE INDEX sessions_node ON sessions (node_id, status);
  CREATE TABLE turns (
    id TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX turns_session ON turns (session_id, id);
  CREATE TABLE approvals (
    id TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX approvals_state ON approvals (state, id);
  CREATE TABLE nodes (
    id TEXT COLLATE "C" PRIMARY KEY,
    role TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
  );
  `,
]

/** 2: the webhook outbox (delivered after a restart; `id` is the webhook-id every retry carries). */
migrations.push(`
  CREATE TABLE webhook_outbox (
    id TEXT COLLATE "C" PRIMARY KEY,
    state TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at);
`)

/** 3: a client-chosen session id (seed 004's `sessionId` on /agent/stream), unique when present. */
migrations.push(`
  ALTER TABLE sessions ADD COLUMN external_id TEXT;
  CREATE UNIQUE INDEX sessions_external_id ON sessions (external_id) WHERE external_id IS NOT NULL;
`)

/** 4: tenants. A run or session records the tenant of the token that created it (null: none); approvals follow their session. */
migrations.push(`
  ALTER TABLE runs ADD COLUMN tenant TEXT;
  CREATE INDEX runs_tenant ON runs (tenant, id);
  ALTER TABLE sessions ADD COLUMN tenant TEXT;
  CREATE INDEX sessions_tenant ON sessions (tenant, id);
`)

/** 5: node signals too large for a NOTIFY payload wait here until their node takes them (pg-node-signals.ts). */
migrations.push(`
  CREATE TABLE node_signals (
    id BIGSERIAL PRIMARY KEY,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  );
`)

/**
 * 6: a node found dead is marked lost before its work is taken over: from then on it claims nothing (its claims
 * share-lock its row and check this), until its record is removed and it registers again.
 */
migrations.push(`
  ALTER TABLE nodes ADD COLUMN lost_at TEXT;
`)

/**
 * 7: a session's ownership claim, bumped whenever a node claims or takes it over; a node's session writes carry
 * the claim it holds and are refused once it is stale (Store.SessionClaim).
 */
migrations.push(`
  ALTER TABLE sessions ADD COLUMN claim INTEGER NOT NULL DEFAULT 1;
`)

/**
 * 8: the key of the liveness lock a node holds (pg-liveness-lock.ts; null: none, as for a node of before). A node
 * with a key whose lock is free is dead (NodeMembership); one without is judged by its heartbeat alone.
 */
migrations.push(`
  ALTER TABLE nodes ADD COLUMN lock_key INTEGER;
`)

/**
 * 9: a run's admission (PostgresStore.admitRun) in one statement: `INSERT ... SELECT ... WHERE
 * agw_admission_room(max, member)`. The cluster's admission lock (the advisory lock 7265310002, which nodes of
 * before take as a statement of its own: both serialise alike during a rolling upgrade), the member check
 * (`member`: the node that will own the run, null: none; its row share-locked, as lockMember does; 'AGW01' when it
 * is not a member) and the count of unfinished runs are taken inside the statement, so the lock is held from there
 * to its transaction's COMMIT (one round trip of the node) instead of across four (the lock, the check, the count,
 * the insert). VOLATILE, so each query in it takes a snapshot of its own: the count sees every run admitted before
 * the lock was granted (the statement's snapshot, taken before its wait, would not).
 */
migrations.push(`
  CREATE FUNCTION agw_admission_room(max_unfinished INTEGER, member TEXT) RETURNS BOOLEAN
  LANGUAGE plpgsql VOLATILE AS $$
  BEGIN
    PERFORM pg_advisory_xact_lock(7265310002);
    IF member IS NOT NULL THEN
      PERFORM 1 FROM nodes WHERE id = member AND lost_at IS NULL FOR SHARE;
      IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'AGW01', MESSAGE = format('node %s is not a member of the cluster', member);
      END IF;
    END IF;
    RETURN (SELECT count(*) FROM runs WHERE status IN ('queued', 'running')) < max_unfinished;
  END
  $$;
`)

/**
 * 10: Idempotency-Keys of `POST /v1/runs` (Store.holdRequestKey): per tenant ('' for none), the run each made and its
 * request's digest, kept for a bounded time (deleted by `at`), shared by every node of the cluster.
 * Since then the keys of `POST /v1/sessions` and of turns too: `run_id` holds their ids as well (read as
 * `resourceId`; the column keeps its name rather than be migrated).
 */
migrations.push(`
  CREATE TABLE run_keys (
    tenant TEXT NOT NULL,
    key TEXT NOT NULL,
    run_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant, key)
  );
  CREATE INDEX run_keys_at ON run_keys (at);
`)

/**
 * 11: a run's admission (PostgresStore.admitRun) takes the cluster's admission lock (7265310002) in its
 * transaction's COMMIT, so the lock is held for the server's commit alone, never across a round trip of the node
 * (before, migration 9's function took it with the run's INSERT, and it was held across the three round trips that
 * followed: the events' seq bump, their INSERT, COMMIT; a node its machine descheduled meanwhile made every other
 * admission of the cluster wait, past their lock wait: 503 store_busy). The INSERT's condition,
 * agw_admission_ask(max, member, lock wait), checks the member as migration 9's does (AGW01), refuses at once a
 * run its snapshot already finds no room for (false: a cluster full then; nothing inserted, no lock needed for a
 * no), and notes the bound and the lock wait in the transaction's settings; the deferred constraint trigger agw_admission then takes the
 * lock (waiting that long: the whole STORE_QUERY_TIMEOUT_SECONDS, as COMMIT is not cut by the client), counts the
 * unfinished runs but this one (the newest committed: VOLATILE, a snapshot per query, taken once the lock is
 * granted) and refuses the commit with AGW02 when the bound is reached. A run inserted otherwise (createRun, a
 * node of before, whose agw_admission_room takes the same lock) sets no bound: the trigger does nothing.
 */
migrations.push(`
  CREATE FUNCTION agw_admission_ask(max_unfinished INTEGER, member TEXT, lock_wait_ms INTEGER) RETURNS BOOLEAN
  LANGUAGE plpgsql VOLATILE AS $$
  BEGIN
    IF member IS NOT NULL THEN
      PERFORM 1 FROM nodes WHERE id = member AND lost_at IS NULL FOR SHARE;
      IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'AGW01', MESSAGE = format('node %s is not a member of the cluster', member);
      END IF;
    END IF;
    -- already full, as far as this snapshot sees: refused here, nothing inserted (the lock is not needed for a no)
    IF (SELECT count(*) FROM runs WHERE status IN ('queued', 'running')) >= max_unfinished THEN
      RETURN false;
    END IF;
    PERFORM set_config('agw.admission_max', max_unfinished::text, true);
    PERFORM set_config('agw.admission_lock_wait', lock_wait_ms::text, true);
    RETURN true;
  END
  $$;
  CREATE FUNCTION agw_admission_check() RETURNS TRIGGER
  LANGUAGE plpgsql VOLATILE AS $$
  DECLARE
    max_unfinished INTEGER := nullif(current_setting('agw.admission_max', true), '')::INTEGER;
  BEGIN
    IF max_unfinished IS NULL THEN
      RETURN NULL;
    END IF;
    PERFORM set_config('lock_timeout', current_setting('agw.admission_lock_wait'), true);
    PERFORM pg_advisory_xact_lock(7265310002);
    IF (SELECT count(*) FROM runs WHERE status IN ('queued', 'running') AND id <> NEW.id) >= max_unfinished THEN
      RAISE EXCEPTION USING ERRCODE = 'AGW02', MESSAGE = format('run %s: the cluster holds %s unfinished runs', NEW.id, max_unfinished);
    END IF;
    RETURN NULL;
  END
  $$;
  CREATE CONSTRAINT TRIGGER agw_admission AFTER INSERT ON runs DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION agw_admission_check();
`)
