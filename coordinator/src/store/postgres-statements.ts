import { named } from './postgres-executor';

/*
 * Every statement PostgresStore runs, in PostgreSQL's dialect; rows are the SQLite store's
 * (./sqlite-rows, ./sqlite-agent-rows, ./sqlite-security-rows, ./sqlite-schedule-rows), so
 * the records map to and from rows in one place. Updates write every patchable column of a
 * merged record, as SqliteStatements' do. Reads that a write patches lock their row (FOR
 * UPDATE): another coordinator's write to it waits, instead of being lost.
 */

const BUILD_COLUMNS = 'id, spec, state, created_at, finished_at, digest, index_media_type, index_size, error, failed_platform, schedule';
const JOB_COLUMNS = 'id, build_id, idx, platform, state, attempt, agent, mode, digest, error, queued_at, failed_on, not_before';
const ATTEMPT_COLUMNS = 'job_id, attempt, lease_id, agent, mode, started_at, ended_at, outcome, error, digest, log_path, log_bytes, reason, bases';
const AGENT_COLUMNS = 'name, version, node_version, engine, platforms, slots, labels, first_seen, last_seen, connected, drained, machine';
const TOKEN_COLUMNS = 'id, hash, kind, created_at, expires_at, uses_left, labels, description, revoked_at';
const IDENTITY_COLUMNS = 'id, name, enrolled_at, token_id, labels, revoked_at, legacy_before';
const SCHEDULE_COLUMNS = 'name, cron, timezone, owner, spec, git, on_base_change, paused, created_at, next_due_at';
const TICK_COLUMNS = 'schedule, due_at, ran_at, cause, outcome, reason, build_id, git_commit, bases';

const insert = (table: string, columns: string) => named(`INSERT INTO ${table} (${columns}) VALUES (${columns.split(', ').map((c) => `@${c}`).join(', ')})`);
const prefixed = (alias: string, columns: string) => columns.split(', ').map((c) => `${alias}.${c}`).join(', ');

export const BUILDS = {
  insert: insert('builds', BUILD_COLUMNS),
  update: named(
    `UPDATE builds SET state = @state, created_at = @created_at, finished_at = @finished_at, digest = @digest,
       index_media_type = @index_media_type, index_size = @index_size, error = @error, failed_platform = @failed_platform WHERE id = @id`,
  ),
  get: `SELECT ${BUILD_COLUMNS} FROM builds WHERE id = $1`,
  getForUpdate: `SELECT ${BUILD_COLUMNS} FROM builds WHERE id = $1 FOR UPDATE`,
  exists: `SELECT 1 FROM builds WHERE id = $1`,
  // A NULL parameter leaves its condition out; `seq` breaks ties in insertion order.
  list: `SELECT ${BUILD_COLUMNS} FROM builds
         WHERE ($1::text IS NULL OR schedule = $1) AND ($2::text[] IS NULL OR state = ANY ($2)) AND ($3::bigint IS NULL OR created_at >= $3)
         ORDER BY created_at DESC, seq DESC LIMIT $4`,
  // The WHERE matches the partial index builds_unfinished.
  unfinished: `SELECT ${BUILD_COLUMNS} FROM builds WHERE state IN ('running', 'publishing') ORDER BY created_at, seq`,
} as const;

export const JOBS = {
  insert: insert('jobs', JOB_COLUMNS),
  update: named(
    `UPDATE jobs SET state = @state, attempt = @attempt, agent = @agent, mode = @mode, digest = @digest, error = @error,
       queued_at = @queued_at, failed_on = @failed_on, not_before = @not_before WHERE id = @id`,
  ),
  getForUpdate: `SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE`,
  ofBuilds: `SELECT ${JOB_COLUMNS} FROM jobs WHERE build_id = ANY ($1) ORDER BY build_id, idx`,
} as const;

export const ATTEMPTS = {
  insert: insert('attempts', ATTEMPT_COLUMNS),
  update: named(
    `UPDATE attempts SET ended_at = @ended_at, outcome = @outcome, error = @error, digest = @digest, log_bytes = @log_bytes,
       bases = @bases WHERE job_id = @job_id AND attempt = @attempt`,
  ),
  getForUpdate: `SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE job_id = $1 AND attempt = $2 FOR UPDATE`,
  ofBuilds: `SELECT j.build_id, ${prefixed('a', ATTEMPT_COLUMNS)} FROM attempts a JOIN jobs j ON j.id = a.job_id
             WHERE j.build_id = ANY ($1) ORDER BY j.build_id, j.idx, a.attempt`,
  setLogBytes: `UPDATE attempts SET log_bytes = $1 WHERE job_id = $2 AND attempt = $3`,
} as const;

export const AGENTS = {
  // A known agent keeps first_seen and drained: a reconnect is neither a new agent nor an undrain.
  upsert: named(
    `INSERT INTO agents (${AGENT_COLUMNS}) VALUES (${AGENT_COLUMNS.split(', ').map((c) => `@${c}`).join(', ')})
     ON CONFLICT (name) DO UPDATE SET version = excluded.version, node_version = excluded.node_version, engine = excluded.engine, platforms = excluded.platforms,
       slots = excluded.slots, labels = excluded.labels, last_seen = excluded.last_seen, connected = excluded.connected, machine = excluded.machine`,
  ),
  setConnected: `UPDATE agents SET connected = $1, last_seen = $2 WHERE name = $3`,
  setDrained: `UPDATE agents SET drained = $1 WHERE name = $2`,
  get: `SELECT ${AGENT_COLUMNS} FROM agents WHERE name = $1`,
  list: `SELECT ${AGENT_COLUMNS} FROM agents ORDER BY name`,
  disconnectAll: `UPDATE agents SET connected = 0, last_seen = $1 WHERE connected = 1`,
  delete: `DELETE FROM agents WHERE name = $1`,
} as const;

export const LEASES = {
  next: `UPDATE counters SET value = value + 1 WHERE name = 'lease' RETURNING value`,
  raise: `UPDATE counters SET value = GREATEST(value, $1) WHERE name = 'lease'`,
} as const;

export const TOKENS = {
  insert: insert('tokens', TOKEN_COLUMNS),
  byHash: `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = $1`,
  // A join token's uses are counted down by whoever holds its row: racing enrolments queue.
  byHashForUpdate: `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = $1 FOR UPDATE`,
  byId: `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = $1`,
  setUsesLeft: `UPDATE tokens SET uses_left = $1 WHERE id = $2`,
  hasAdmin: `SELECT EXISTS (SELECT 1 FROM tokens WHERE kind = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)) AS has`,
  list: `SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id`,
  // Revoking again keeps the first time.
  revoke: `UPDATE tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`,
} as const;

export const IDENTITIES = {
  insert: insert('agent_identities', IDENTITY_COLUMNS),
  insertCertificate: `INSERT INTO agent_certificates (serial, identity_id, not_after) VALUES ($1, $2, $3)`,
  pruneCertificates: `DELETE FROM agent_certificates WHERE identity_id = $1 AND not_after < $2`,
  byName: `SELECT ${IDENTITY_COLUMNS} FROM agent_identities WHERE name = $1`,
  byId: `SELECT ${IDENTITY_COLUMNS} FROM agent_identities WHERE id = $1 FOR UPDATE`,
  byCertificate: `SELECT ${prefixed('i', IDENTITY_COLUMNS)} FROM agent_certificates c JOIN agent_identities i ON i.id = c.identity_id WHERE c.serial = $1`,
  list: `SELECT ${IDENTITY_COLUMNS} FROM agent_identities ORDER BY name`,
  revoke: `UPDATE agent_identities SET revoked_at = coalesce(revoked_at, $1) WHERE name = $2`,
  delete: `DELETE FROM agent_identities WHERE name = $1`,
} as const;

export const CREDENTIALS = {
  put: `INSERT INTO registry_credentials (registry, username, secret, updated_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (registry) DO UPDATE SET username = excluded.username, secret = excluded.secret, updated_at = excluded.updated_at`,
  get: `SELECT username, secret FROM registry_credentials WHERE registry = $1`,
  listRegistries: `SELECT registry FROM registry_credentials ORDER BY registry`,
  delete: `DELETE FROM registry_credentials WHERE registry = $1`,
  putBuild: `INSERT INTO build_credentials (build_id, secret) VALUES ($1, $2) ON CONFLICT (build_id) DO UPDATE SET secret = excluded.secret`,
  getBuild: `SELECT secret FROM build_credentials WHERE build_id = $1`,
  deleteBuild: `DELETE FROM build_credentials WHERE build_id = $1`,
} as const;

export const SCHEDULES = {
  insert: insert('schedules', SCHEDULE_COLUMNS),
  get: `SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE name = $1`,
  getForUpdate: `SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE name = $1 FOR UPDATE`,
  list: `SELECT ${SCHEDULE_COLUMNS} FROM schedules ORDER BY name`,
  patch: named(`UPDATE schedules SET paused = @paused, next_due_at = @next_due_at WHERE name = @name`),
  // Its ticks go with it (ON DELETE CASCADE); its builds stay.
  delete: `DELETE FROM schedules WHERE name = $1`,
  insertTick: insert('schedule_ticks', TICK_COLUMNS),
  // Newest first; seq breaks ties in insertion order (index schedule_ticks_ran).
  listTicks: `SELECT ${TICK_COLUMNS} FROM schedule_ticks WHERE schedule = $1 ORDER BY ran_at DESC, seq DESC LIMIT $2`,
  listBuiltTicks: `SELECT ${TICK_COLUMNS} FROM schedule_ticks WHERE schedule = $1 AND build_id IS NOT NULL ORDER BY ran_at DESC, seq DESC LIMIT $2`,
  // Ticks that built nothing beyond the newest N (IDLE_TICKS_KEPT) of the schedule.
  trimIdleTicks: `DELETE FROM schedule_ticks WHERE schedule = $1 AND build_id IS NULL AND seq NOT IN
                    (SELECT seq FROM schedule_ticks WHERE schedule = $1 AND build_id IS NULL ORDER BY ran_at DESC, seq DESC LIMIT $2)`,
} as const;
