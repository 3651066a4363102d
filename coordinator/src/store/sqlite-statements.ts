import type Database from 'better-sqlite3';
import type { AgentRow } from './sqlite-agent-rows';
import type { AttemptRow, BuildRow, JobRow } from './sqlite-rows';

type Statement<P extends unknown[] | object, R = unknown> = Database.Statement<P, R>;

/** listBuildsFiltered's parameters; null leaves a condition out. */
export interface ListBuildsParams {
  schedule: string | null;
  states: string | null;
  since: number | null;
  limit: number;
}

const BUILD_COLUMNS = 'id, spec, state, created_at, finished_at, digest, index_media_type, index_size, error, failed_platform, schedule';
const JOB_COLUMNS = 'id, build_id, idx, platform, state, attempt, agent, mode, digest, error, queued_at, failed_on, not_before';
const ATTEMPT_COLUMNS = 'job_id, attempt, lease_id, agent, mode, started_at, ended_at, outcome, error, digest, log_path, log_bytes, reason, bases';
const AGENT_COLUMNS = 'name, version, node_version, engine, platforms, slots, labels, first_seen, last_seen, connected, drained, machine';

/**
 * Every statement SqliteStore runs, prepared once when the store opens. Updates write every
 * patchable column of a merged record (named parameters ignore the row's other keys).
 */
export class SqliteStatements {
  readonly insertBuild: Statement<BuildRow>;
  readonly updateBuild: Statement<BuildRow>;
  readonly getBuild: Statement<[string], BuildRow>;
  readonly listBuilds: Statement<[number], BuildRow>;
  readonly listBuildsOfSchedule: Statement<[string, number], BuildRow>;
  readonly listBuildsFiltered: Statement<ListBuildsParams, BuildRow>;
  readonly unfinishedBuildIds: Statement<[], string>;
  readonly insertJob: Statement<JobRow>;
  readonly updateJob: Statement<JobRow>;
  readonly getJob: Statement<[string], JobRow>;
  readonly jobsOfBuild: Statement<[string], JobRow>;
  readonly insertAttempt: Statement<AttemptRow>;
  readonly updateAttempt: Statement<AttemptRow>;
  readonly getAttempt: Statement<[string, number], AttemptRow>;
  readonly attemptsOfBuild: Statement<[string], AttemptRow>;
  readonly setLogBytes: Statement<[number, string, number]>;
  readonly upsertAgent: Statement<AgentRow>;
  readonly setAgentConnected: Statement<[number, number, string]>;
  readonly setAgentDrained: Statement<[number, string]>;
  readonly getAgent: Statement<[string], AgentRow>;
  readonly listAgents: Statement<[], AgentRow>;
  readonly disconnectAll: Statement<[number]>;
  readonly nextLease: Statement<[], number>;
  readonly raiseLease: Statement<[number]>;

  constructor(db: Database.Database) {
    this.insertBuild = db.prepare<BuildRow>(`INSERT INTO builds (${BUILD_COLUMNS}) VALUES (${params(BUILD_COLUMNS)})`);
    this.updateBuild = db.prepare<BuildRow>(
      `UPDATE builds SET state = @state, created_at = @created_at, finished_at = @finished_at, digest = @digest,
         index_media_type = @index_media_type, index_size = @index_size, error = @error, failed_platform = @failed_platform WHERE id = @id`,
    );
    this.getBuild = db.prepare<[string], BuildRow>(`SELECT ${BUILD_COLUMNS} FROM builds WHERE id = ?`);
    this.listBuilds = db.prepare<[number], BuildRow>(`SELECT ${BUILD_COLUMNS} FROM builds ORDER BY created_at DESC, rowid DESC LIMIT ?`);
    // `schedule = ?` implies the partial index builds_schedule's `schedule IS NOT NULL`, so SQLite uses it.
    this.listBuildsOfSchedule = db.prepare<[string, number], BuildRow>(
      `SELECT ${BUILD_COLUMNS} FROM builds WHERE schedule = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    );
    // A NULL parameter leaves its condition out; states is a JSON array of state names.
    this.listBuildsFiltered = db.prepare<ListBuildsParams, BuildRow>(
      `SELECT ${BUILD_COLUMNS} FROM builds
       WHERE (@schedule IS NULL OR schedule = @schedule)
         AND (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
         AND (@since IS NULL OR created_at >= @since)
       ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
    );
    // The WHERE matches the partial index builds_unfinished word for word, so SQLite uses it.
    this.unfinishedBuildIds = db
      .prepare<[], string>(`SELECT id FROM builds WHERE state IN ('running', 'publishing') ORDER BY created_at, rowid`)
      .pluck();

    this.insertJob = db.prepare<JobRow>(`INSERT INTO jobs (${JOB_COLUMNS}) VALUES (${params(JOB_COLUMNS)})`);
    this.updateJob = db.prepare<JobRow>(
      `UPDATE jobs SET state = @state, attempt = @attempt, agent = @agent, mode = @mode, digest = @digest, error = @error,
         queued_at = @queued_at, failed_on = @failed_on, not_before = @not_before WHERE id = @id`,
    );
    this.getJob = db.prepare<[string], JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`);
    this.jobsOfBuild = db.prepare<[string], JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE build_id = ? ORDER BY idx`);

    this.insertAttempt = db.prepare<AttemptRow>(`INSERT INTO attempts (${ATTEMPT_COLUMNS}) VALUES (${params(ATTEMPT_COLUMNS)})`);
    this.updateAttempt = db.prepare<AttemptRow>(
      `UPDATE attempts SET ended_at = @ended_at, outcome = @outcome, error = @error, digest = @digest, log_bytes = @log_bytes,
         bases = @bases WHERE job_id = @job_id AND attempt = @attempt`,
    );
    this.getAttempt = db.prepare<[string, number], AttemptRow>(`SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE job_id = ? AND attempt = ?`);
    this.attemptsOfBuild = db.prepare<[string], AttemptRow>(
      `SELECT ${ATTEMPT_COLUMNS.replace(/(\w+)/g, 'a.$1')} FROM attempts a JOIN jobs j ON j.id = a.job_id
       WHERE j.build_id = ? ORDER BY j.idx, a.attempt`,
    );

    this.setLogBytes = db.prepare<[number, string, number]>(`UPDATE attempts SET log_bytes = ? WHERE job_id = ? AND attempt = ?`);

    // A known agent keeps first_seen and drained: a reconnect is neither a new agent nor an undrain.
    this.upsertAgent = db.prepare<AgentRow>(
      `INSERT INTO agents (${AGENT_COLUMNS}) VALUES (${params(AGENT_COLUMNS)})
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, node_version = excluded.node_version, engine = excluded.engine, platforms = excluded.platforms,
         slots = excluded.slots, labels = excluded.labels, last_seen = excluded.last_seen, connected = excluded.connected, machine = excluded.machine`,
    );
    this.setAgentConnected = db.prepare<[number, number, string]>(`UPDATE agents SET connected = ?, last_seen = ? WHERE name = ?`);
    this.setAgentDrained = db.prepare<[number, string]>(`UPDATE agents SET drained = ? WHERE name = ?`);
    this.getAgent = db.prepare<[string], AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE name = ?`);
    this.listAgents = db.prepare<[], AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents ORDER BY name`);
    this.disconnectAll = db.prepare<[number]>(`UPDATE agents SET connected = 0, last_seen = ? WHERE connected = 1`);

    this.nextLease = db.prepare<[], number>(`UPDATE counters SET value = value + 1 WHERE name = 'lease' RETURNING value`).pluck();
    this.raiseLease = db.prepare<[number]>(`UPDATE counters SET value = max(value, ?) WHERE name = 'lease'`);
  }
}

/** Named parameters for a column list: "a, b" -> "@a, @b". */
export function params(columns: string): string {
  return columns
    .split(', ')
    .map((c) => `@${c}`)
    .join(', ');
}
