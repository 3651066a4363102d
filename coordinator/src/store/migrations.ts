import type Database from 'better-sqlite3';
import { StoreVersionError } from './errors';

/**
 * One schema step. `version` is the `PRAGMA user_version` the database has once `up` ran;
 * versions are 1, 2, 3... in order and a published migration never changes (add a new one).
 * `up` runs inside the migration transaction: it must not change pragmas that SQLite ignores
 * in a transaction (journal_mode, foreign_keys). A step that rebuilds a table relies on
 * `PRAGMA defer_foreign_keys = ON` instead of turning foreign keys off.
 */
export interface Migration {
  version: number;
  description: string;
  up: (db: Database.Database) => void;
}

/*
 * No CHECK on state columns: SQLite cannot alter a CHECK without rebuilding the table, and
 * new states are likely (smoke testing). The store validates states when it reads a row.
 */
const V1 = `
CREATE TABLE builds (
  id TEXT PRIMARY KEY,
  spec TEXT NOT NULL CHECK (json_valid(spec)),
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  digest TEXT,
  error TEXT CHECK (error IS NULL OR json_valid(error)),
  failed_platform TEXT
) STRICT;
-- listBuilds: newest first (rowid breaks ties in insertion order).
CREATE INDEX builds_created ON builds (created_at);
-- unfinishedBuilds: a partial index stays small however many builds have finished.
CREATE INDEX builds_unfinished ON builds (created_at) WHERE state IN ('running', 'publishing');

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  build_id TEXT NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  platform TEXT NOT NULL,
  state TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  agent TEXT,
  mode TEXT,
  digest TEXT,
  error TEXT CHECK (error IS NULL OR json_valid(error)),
  queued_at INTEGER NOT NULL,
  failed_on TEXT NOT NULL CHECK (json_valid(failed_on)),
  not_before INTEGER,
  UNIQUE (build_id, idx)
) STRICT;

CREATE TABLE attempts (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  -- Unique: a lease id is a fencing token and is never handed out twice.
  lease_id INTEGER NOT NULL UNIQUE,
  agent TEXT NOT NULL,
  mode TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  outcome TEXT NOT NULL,
  error TEXT CHECK (error IS NULL OR json_valid(error)),
  digest TEXT,
  PRIMARY KEY (job_id, attempt)
) STRICT;

CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('lease', 0);
`;

/*
 * Agents the coordinator has seen, and the log index: where each attempt's log lives on disk
 * (relative to the data directory) and how long it is. Booleans are 0/1 with a CHECK:
 * unlike states they will not grow new values.
 */
const V2 = `
CREATE TABLE agents (
  name TEXT PRIMARY KEY,
  version TEXT NOT NULL,
  engine TEXT NOT NULL,
  platforms TEXT NOT NULL CHECK (json_valid(platforms)),
  slots INTEGER NOT NULL,
  labels TEXT NOT NULL CHECK (json_valid(labels)),
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  connected INTEGER NOT NULL CHECK (connected IN (0, 1)),
  drained INTEGER NOT NULL DEFAULT 0 CHECK (drained IN (0, 1))
) STRICT;

ALTER TABLE attempts ADD COLUMN log_path TEXT;
ALTER TABLE attempts ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
`;

/*
 * Why the scheduler placed each attempt. The build spec's new fields (emulation,
 * requireLabels) live in its JSON column: older specs lack them and reads fill in defaults.
 */
const V3 = `
ALTER TABLE attempts ADD COLUMN reason TEXT;
`;

/*
 * Tokens (only their sha256), revoked agent names, registry logins (only ciphertext). No
 * CHECK on token kind, as with states: the store validates it on read. A NULL expires_at
 * never expires, a NULL uses_left is unlimited. The hash is UNIQUE: a lookup by hash is an
 * index probe and two tokens cannot share a text.
 */
const V4 = `
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
  kind TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  uses_left INTEGER CHECK (uses_left IS NULL OR uses_left >= 0),
  labels TEXT NOT NULL CHECK (json_valid(labels)),
  description TEXT NOT NULL
) STRICT;

CREATE TABLE revoked_agents (
  name TEXT PRIMARY KEY,
  revoked_at INTEGER NOT NULL
) STRICT;

CREATE TABLE registry_credentials (
  registry TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  secret BLOB NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
`;

/* The Node.js each agent runs on; agents seen before this version have none (''). */
const V5 = `
ALTER TABLE agents ADD COLUMN node_version TEXT NOT NULL DEFAULT '';
`;

/*
 * The published index's media type and size (for --metadata-file's descriptor) and the FROM
 * images each attempt was built from (JSON, NULL when the agent named none). The spec's new
 * fields (tags, labels, annotations, pull, noCache, secretIds: never secret values) live in
 * its JSON column: older specs lack them and reads fill in defaults (tags: [tag]).
 */
const V6 = `
ALTER TABLE builds ADD COLUMN index_media_type TEXT;
ALTER TABLE builds ADD COLUMN index_size INTEGER;
ALTER TABLE attempts ADD COLUMN bases TEXT CHECK (bases IS NULL OR json_valid(bases));
`;

/*
 * The registry credentials a build was submitted with, sealed (SecretBox), kept while the
 * build runs so a restarted coordinator resumes it authenticated; deleted when it ends.
 */
const V7 = `
CREATE TABLE build_credentials (
  build_id TEXT PRIMARY KEY REFERENCES builds (id) ON DELETE CASCADE,
  secret BLOB NOT NULL
) STRICT;
`;

/*
 * Agent identities (issue 15): one per name until an admin forgets it, and the serials of the
 * certificates issued to each, so a revocation is of one enrolment, not of a name. Agents the
 * store knew, and names revoked before, become legacy identities: a certificate of that name
 * issued before this migration still counts as the identity (it was issued under the old
 * rules and renews into a recorded one). Tokens gain a revocation time.
 */
const NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;
const V8 = `
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;

CREATE TABLE agent_identities (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  enrolled_at INTEGER NOT NULL,
  token_id TEXT NOT NULL,
  labels TEXT NOT NULL CHECK (json_valid(labels)),
  revoked_at INTEGER,
  legacy_before INTEGER
) STRICT;

CREATE TABLE agent_certificates (
  serial TEXT PRIMARY KEY,
  identity_id TEXT NOT NULL REFERENCES agent_identities (id) ON DELETE CASCADE,
  not_after INTEGER NOT NULL
) STRICT;
CREATE INDEX agent_certificates_identity ON agent_certificates (identity_id);

INSERT INTO agent_identities (id, name, enrolled_at, token_id, labels, legacy_before)
  SELECT 'legacy-' || name, name, first_seen, '', '{}', ${NOW_MS} FROM agents;
INSERT INTO agent_identities (id, name, enrolled_at, token_id, labels, revoked_at, legacy_before)
  SELECT 'legacy-' || name, name, revoked_at, '', '{}', revoked_at, ${NOW_MS} FROM revoked_agents WHERE true
  ON CONFLICT (name) DO UPDATE SET revoked_at = excluded.revoked_at;
DROP TABLE revoked_agents;
`;

/*
 * Schedules (issue 16) and what each of their ticks did. A tick belongs to its schedule and
 * goes with it (ON DELETE CASCADE); a schedule's builds stay, found by builds.schedule, which
 * mirrors spec.schedule (set at createBuild) for listBuilds' filter. No CHECK on cause and
 * outcome, as with states: the store validates them on read. Ticks are a rowid table: rowid
 * orders ticks of one ran_at in insertion order. Builds stored before have no schedule;
 * the back-fill reads their spec anyway, so the column is right whatever they hold.
 */
const V9 = `
CREATE TABLE schedules (
  name TEXT PRIMARY KEY,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  owner TEXT NOT NULL,
  spec TEXT NOT NULL CHECK (json_valid(spec)),
  git TEXT CHECK (git IS NULL OR json_valid(git)),
  on_base_change INTEGER NOT NULL CHECK (on_base_change IN (0, 1)),
  paused INTEGER NOT NULL CHECK (paused IN (0, 1)),
  created_at INTEGER NOT NULL,
  next_due_at INTEGER
) STRICT;

CREATE TABLE schedule_ticks (
  schedule TEXT NOT NULL REFERENCES schedules (name) ON DELETE CASCADE,
  due_at INTEGER NOT NULL,
  ran_at INTEGER NOT NULL,
  cause TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  build_id TEXT,
  git_commit TEXT,
  bases TEXT NOT NULL CHECK (json_valid(bases))
) STRICT;
-- listTicks: a schedule's newest first; also the cascade's lookup.
CREATE INDEX schedule_ticks_ran ON schedule_ticks (schedule, ran_at);

ALTER TABLE builds ADD COLUMN schedule TEXT;
UPDATE builds SET schedule = json_extract(spec, '$.schedule') WHERE json_type(spec, '$.schedule') = 'text';
-- listBuilds(limit, { schedule }): partial, as most builds are submitted by hand.
CREATE INDEX builds_schedule ON builds (schedule, created_at) WHERE schedule IS NOT NULL;
`;

/* Each agent's engine and machine as its last connection told them (provenance); NULL before. */
const V10 = `
ALTER TABLE agents ADD COLUMN machine TEXT CHECK (machine IS NULL OR json_valid(machine));
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'builds, jobs, attempts, lease counter', up: (db) => db.exec(V1) },
  { version: 2, description: 'agents, attempt log index', up: (db) => db.exec(V2) },
  { version: 3, description: 'attempt placement reason', up: (db) => db.exec(V3) },
  { version: 4, description: 'tokens, revoked agents, registry credentials', up: (db) => db.exec(V4) },
  { version: 5, description: 'agent Node.js version', up: (db) => db.exec(V5) },
  { version: 6, description: 'published index descriptor, attempt base images', up: (db) => db.exec(V6) },
  { version: 7, description: 'sealed credentials of running builds', up: (db) => db.exec(V7) },
  { version: 8, description: 'agent identities and their certificates, token revocation', up: (db) => db.exec(V8) },
  { version: 9, description: 'schedules and their ticks, the schedule of each build', up: (db) => db.exec(V9) },
  { version: 10, description: 'agent engine and machine, for provenance', up: (db) => db.exec(V10) },
];

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Refuses a database written by a newer archfarm before anything touches it. */
export function checkVersion(db: Database.Database, path: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const supported = migrations.at(-1)?.version ?? 0;
  const found = schemaVersion(db);
  if (found > supported) throw new StoreVersionError(path, found, supported);
}

/**
 * Brings the database to the newest version: pending migrations run in order in one
 * IMMEDIATE transaction (the write lock is taken before the version is read, so two
 * processes opening one file cannot both migrate it). Any failure rolls all of them back.
 */
export function migrate(db: Database.Database, path: string, migrations: readonly Migration[] = MIGRATIONS): void {
  db.transaction(() => {
    checkVersion(db, path, migrations);
    const current = schemaVersion(db);
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      migration.up(db);
      // user_version lives in the database header, so it commits or rolls back with the rest.
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}
