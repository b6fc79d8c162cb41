/** Schema migrations, applied in order; `PRAGMA user_version` records the last one applied. */
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
