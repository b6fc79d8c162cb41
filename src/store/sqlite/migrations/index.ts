/** SQLite schema migrations, applied in order; `PRAGMA user_version` records the last one applied. */
export const migrations: string[] = [
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    last_seq INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL
  );
  CREATE INDEX runs_status ON runs (status, id);
  CREATE INDEX runs_agent ON runs (agent, id);
  CREATE INDEX runs_finished ON runs (finished_at);
  CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID;
  `,
]

/** 2: sessions, turns and approvals; events belong to a run or a session (`owner_id`). */
migrations.push(`
  CREATE TABLE events_by_owner (
    owner_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (owner_id, seq)
  ) WITHOUT ROWID;
  INSERT INTO events_by_owner SELECT run_id, seq, type, at, body FROM events;
  DROP TABLE events;
  ALTER TABLE events_by_owner RENAME TO events;
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    agent_session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL
  );
  CREATE INDEX sessions_agent_session ON sessions (agent_session_id);
  CREATE TABLE turns (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX turns_session ON turns (session_id, id);
  CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX approvals_state ON approvals (state, id);
`)

/**
 * 3: nodes. Runs and sessions record the node (gateway process) that owns them; a run records when a node
 * claimed it. What an older server left unfinished belongs to `node_legacy`, a node that is never alive.
 */
migrations.push(`
  ALTER TABLE runs ADD COLUMN node_id TEXT;
  ALTER TABLE runs ADD COLUMN claimed_at TEXT;
  UPDATE runs SET node_id = 'node_legacy' WHERE status IN ('queued', 'running');
  CREATE INDEX runs_node ON runs (node_id, status);
  ALTER TABLE sessions ADD COLUMN node_id TEXT;
  UPDATE sessions SET node_id = 'node_legacy';
  CREATE INDEX sessions_node ON sessions (node_id, status);
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
  );
`)

/** 4: the webhook outbox (delivered after a restart; `id` is the webhook-id every retry carries). */
migrations.push(`
  CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at);
`)

/** 5: a client-chosen session id (seed 004's `sessionId` on /agent/stream), unique when present. */
migrations.push(`
  ALTER TABLE sessions ADD COLUMN external_id TEXT;
  CREATE UNIQUE INDEX sessions_external_id ON sessions (external_id) WHERE external_id IS NOT NULL;
`)

/** 6: tenants. A run or session records the tenant of the token that created it (null: none); approvals follow their session. */
migrations.push(`
  ALTER TABLE runs ADD COLUMN tenant TEXT;
  CREATE INDEX runs_tenant ON runs (tenant, id);
  ALTER TABLE sessions ADD COLUMN tenant TEXT;
  CREATE INDEX sessions_tenant ON sessions (tenant, id);
`)

/**
 * 7: events in a rowid table (the same key, as its primary-key index). SQLite advises WITHOUT ROWID only for rows
 * under about a twentieth of a page; an agent's output event is often tens of KB. Appending one 54 KB output
 * event (JSON encode + transaction) took about 10% less CPU in the rowid table, and small events no more.
 */
migrations.push(`
  CREATE TABLE events_rowid (
    owner_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (owner_id, seq)
  );
  INSERT INTO events_rowid (owner_id, seq, type, at, body)
    SELECT owner_id, seq, type, at, body FROM events ORDER BY owner_id, seq;
  DROP TABLE events;
  ALTER TABLE events_rowid RENAME TO events;
`)

/** 8: a node found dead is marked lost before its work is taken over: from then on it claims nothing. */
migrations.push(`
  ALTER TABLE nodes ADD COLUMN lost_at TEXT;
`)

/**
 * 9: a session's ownership claim, bumped whenever a node claims or takes it over; a node's session writes carry
 * the claim it holds and are refused once it is stale (Store.SessionClaim).
 */
migrations.push(`
  ALTER TABLE sessions ADD COLUMN claim INTEGER NOT NULL DEFAULT 1;
`)

/**
 * 10: a session's events are appended with the claim of the node that holds it, checked by the insert on the
 * session it looks up anyway: this index answers that lookup alone (id and claim), as the primary key's index
 * answered it before, so the check costs no read of the session's row (its JSON document).
 */
migrations.push(`
  CREATE INDEX sessions_claim ON sessions (id, claim);
`)

/**
 * 11: a run's events appended by the node that executes it (in a cluster) are checked by the insert on the run
 * it looks up anyway: this index answers that lookup alone (id and owner), as sessions_claim does for sessions.
 */
migrations.push(`
  CREATE INDEX runs_owner ON runs (id, node_id);
`)

/**
 * 12: sessions_node indexes whether a session is archived, not its status. A warm turn moves its session idle ->
 * running -> idle, and SQLite rewrites an index entry whenever a column of it (or of its expression, or of a partial
 * index's WHERE) is written: the old (node_id, status) index cost a page in the WAL at each turn's start and end.
 * What the index serves (a node's sessions held, the owners in use) only asks whether a session is archived; a
 * trigger keeps `archived` true to `status` in every write, so no statement has to.
 */
migrations.push(`
  ALTER TABLE sessions ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
  UPDATE sessions SET archived = 1 WHERE status = 'archived';
  DROP INDEX sessions_node;
  CREATE INDEX sessions_node ON sessions (node_id, archived);
  CREATE TRIGGER sessions_archived_set AFTER UPDATE OF status ON sessions
    WHEN (new.status = 'archived') != (old.status = 'archived')
    BEGIN UPDATE sessions SET archived = (new.status = 'archived') WHERE id = new.id; END;
  CREATE TRIGGER sessions_archived_inserted AFTER INSERT ON sessions WHEN new.status = 'archived'
    BEGIN UPDATE sessions SET archived = 1 WHERE id = new.id; END;
`)

/**
 * 13: Idempotency-Keys of `POST /v1/runs` (Store.holdRequestKey): per tenant ('' for none), the run each made and its
 * request's digest, kept for a bounded time (deleted by `at`).
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
