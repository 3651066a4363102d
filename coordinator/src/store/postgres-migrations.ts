import type { PoolClient } from 'pg';
import { StoreVersionError } from './errors';

/**
 * One schema step of the PostgreSQL store, numbered as the SQLite store's (./migrations):
 * version N here makes the same tables, columns and meaning as SQLite's N, in PostgreSQL's
 * DDL, so both stores are always at the same schema and a test checks the lists stay aligned.
 * A published step never changes (add a new one to both lists).
 *
 * Column types are chosen so that the rows read back as the SQLite store's (./sqlite-rows):
 * times are BIGINT (ms since the epoch; the pool reads int8 as a JS number), booleans stay
 * SMALLINT 0/1 with a CHECK, JSON columns are jsonb (read as text, so the same decoders apply,
 * and queryable by later steps). `seq` (an identity column) stands in for SQLite's rowid where
 * the order of insertion breaks ties.
 */
export interface PostgresMigration {
  version: number;
  description: string;
  sql: string;
}

/* No CHECK on state columns, as in SQLite: the store validates states when it reads a row. */
const V1 = `
CREATE TABLE builds (
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  id TEXT PRIMARY KEY,
  spec JSONB NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  finished_at BIGINT,
  digest TEXT,
  error JSONB,
  failed_platform TEXT
);
CREATE INDEX builds_created ON builds (created_at, seq);
CREATE INDEX builds_unfinished ON builds (created_at, seq) WHERE state IN ('running', 'publishing');

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
  error JSONB,
  queued_at BIGINT NOT NULL,
  failed_on JSONB NOT NULL,
  not_before BIGINT,
  UNIQUE (build_id, idx)
);

CREATE TABLE attempts (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  -- Unique: a lease id is a fencing token and is never handed out twice.
  lease_id BIGINT NOT NULL UNIQUE,
  agent TEXT NOT NULL,
  mode TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  ended_at BIGINT,
  outcome TEXT NOT NULL,
  error JSONB,
  digest TEXT,
  PRIMARY KEY (job_id, attempt)
);

CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('lease', 0);
`;

const V2 = `
CREATE TABLE agents (
  name TEXT PRIMARY KEY,
  version TEXT NOT NULL,
  engine TEXT NOT NULL,
  platforms JSONB NOT NULL,
  slots INTEGER NOT NULL,
  labels JSONB NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  connected SMALLINT NOT NULL CHECK (connected IN (0, 1)),
  drained SMALLINT NOT NULL DEFAULT 0 CHECK (drained IN (0, 1))
);

ALTER TABLE attempts ADD COLUMN log_path TEXT;
ALTER TABLE attempts ADD COLUMN log_bytes BIGINT NOT NULL DEFAULT 0;
`;

const V3 = `
ALTER TABLE attempts ADD COLUMN reason TEXT;
`;

const V4 = `
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
  kind TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  uses_left INTEGER CHECK (uses_left IS NULL OR uses_left >= 0),
  labels JSONB NOT NULL,
  description TEXT NOT NULL
);

CREATE TABLE revoked_agents (
  name TEXT PRIMARY KEY,
  revoked_at BIGINT NOT NULL
);

CREATE TABLE registry_credentials (
  registry TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  secret BYTEA NOT NULL,
  updated_at BIGINT NOT NULL
);
`;

const V5 = `
ALTER TABLE agents ADD COLUMN node_version TEXT NOT NULL DEFAULT '';
`;

const V6 = `
ALTER TABLE builds ADD COLUMN index_media_type TEXT;
ALTER TABLE builds ADD COLUMN index_size BIGINT;
ALTER TABLE attempts ADD COLUMN bases JSONB;
`;

const V7 = `
CREATE TABLE build_credentials (
  build_id TEXT PRIMARY KEY REFERENCES builds (id) ON DELETE CASCADE,
  secret BYTEA NOT NULL
);
`;

const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;
const V8 = `
ALTER TABLE tokens ADD COLUMN revoked_at BIGINT;

CREATE TABLE agent_identities (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  enrolled_at BIGINT NOT NULL,
  token_id TEXT NOT NULL,
  labels JSONB NOT NULL,
  revoked_at BIGINT,
  legacy_before BIGINT
);

CREATE TABLE agent_certificates (
  serial TEXT PRIMARY KEY,
  identity_id TEXT NOT NULL REFERENCES agent_identities (id) ON DELETE CASCADE,
  not_after BIGINT NOT NULL
);
CREATE INDEX agent_certificates_identity ON agent_certificates (identity_id);

INSERT INTO agent_identities (id, name, enrolled_at, token_id, labels, legacy_before)
  SELECT 'legacy-' || name, name, first_seen, '', '{}', ${NOW_MS} FROM agents;
INSERT INTO agent_identities (id, name, enrolled_at, token_id, labels, revoked_at, legacy_before)
  SELECT 'legacy-' || name, name, revoked_at, '', '{}', revoked_at, ${NOW_MS} FROM revoked_agents
  ON CONFLICT (name) DO UPDATE SET revoked_at = excluded.revoked_at;
DROP TABLE revoked_agents;
`;

const V9 = `
CREATE TABLE schedules (
  name TEXT PRIMARY KEY,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  owner TEXT NOT NULL,
  spec JSONB NOT NULL,
  git JSONB,
  on_base_change SMALLINT NOT NULL CHECK (on_base_change IN (0, 1)),
  paused SMALLINT NOT NULL CHECK (paused IN (0, 1)),
  created_at BIGINT NOT NULL,
  next_due_at BIGINT
);

CREATE TABLE schedule_ticks (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  schedule TEXT NOT NULL REFERENCES schedules (name) ON DELETE CASCADE,
  due_at BIGINT NOT NULL,
  ran_at BIGINT NOT NULL,
  cause TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  build_id TEXT,
  git_commit TEXT,
  bases JSONB NOT NULL
);
CREATE INDEX schedule_ticks_ran ON schedule_ticks (schedule, ran_at, seq);

ALTER TABLE builds ADD COLUMN schedule TEXT;
UPDATE builds SET schedule = spec ->> 'schedule' WHERE jsonb_typeof(spec -> 'schedule') = 'string';
CREATE INDEX builds_schedule ON builds (schedule, created_at, seq) WHERE schedule IS NOT NULL;
`;

const V10 = `
ALTER TABLE agents ADD COLUMN machine JSONB;
`;

export const PG_MIGRATIONS: readonly PostgresMigration[] = [
  { version: 1, description: 'builds, jobs, attempts, lease counter', sql: V1 },
  { version: 2, description: 'agents, attempt log index', sql: V2 },
  { version: 3, description: 'attempt placement reason', sql: V3 },
  { version: 4, description: 'tokens, revoked agents, registry credentials', sql: V4 },
  { version: 5, description: 'agent Node.js version', sql: V5 },
  { version: 6, description: 'published index descriptor, attempt base images', sql: V6 },
  { version: 7, description: 'sealed credentials of running builds', sql: V7 },
  { version: 8, description: 'agent identities and their certificates, token revocation', sql: V8 },
  { version: 9, description: 'schedules and their ticks, the schedule of each build', sql: V9 },
  { version: 10, description: 'agent engine and machine, for provenance', sql: V10 },
];

/*
 * The schema version lives in a one-row table (PostgreSQL has no user_version). Its absence
 * means version 0: an empty database.
 */
const VERSION_TABLE = 'archfarm_schema';
/** Serialises migrations of one database across processes (any constant both sides agree on). */
const MIGRATION_LOCK = 0x61726366; // "arcf"

/** Creates the schema the store keeps its tables in, under the migration lock (two creators would collide). */
export async function pgEnsureSchema(client: PoolClient, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The database's schema version, 0 for a database archfarm never wrote. */
export async function pgSchemaVersion(client: PoolClient): Promise<number> {
  const table = await client.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [VERSION_TABLE]);
  if (!table.rows[0]?.t) return 0;
  const row = await client.query<{ version: number }>(`SELECT version FROM ${VERSION_TABLE}`);
  return row.rows[0]?.version ?? 0;
}

/** Refuses a database written by a newer archfarm; reads only. `where` names it (a URL without password). */
export async function pgCheckVersion(client: PoolClient, where: string, migrations: readonly PostgresMigration[] = PG_MIGRATIONS): Promise<void> {
  const supported = migrations.at(-1)?.version ?? 0;
  const found = await pgSchemaVersion(client);
  if (found > supported) throw new StoreVersionError(where, found, supported);
}

/**
 * Brings the database to the newest version in one transaction (PostgreSQL's DDL is
 * transactional: a failing step rolls every step back). A transaction-scoped advisory lock
 * makes coordinators that open one database at once migrate it one after the other; the
 * version is read again under the lock.
 */
export async function pgMigrate(client: PoolClient, where: string, migrations: readonly PostgresMigration[] = PG_MIGRATIONS): Promise<void> {
  await pgCheckVersion(client, where, migrations);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (version INTEGER NOT NULL)`);
    await pgCheckVersion(client, where, migrations);
    const current = await pgSchemaVersion(client);
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
    }
    const newest = migrations.at(-1)?.version ?? 0;
    if (newest > current) {
      await client.query(`DELETE FROM ${VERSION_TABLE}`);
      await client.query(`INSERT INTO ${VERSION_TABLE} (version) VALUES ($1)`, [newest]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
