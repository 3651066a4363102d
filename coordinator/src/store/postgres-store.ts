import { Pool, types, type PoolClient } from 'pg';
import { InvalidInputError } from '@archfarm/common';
import { AgentNameTakenError, StoreDataError, StoreInUseError, StoreUnreachableError, StoreRecordNotFoundError, TokenNotFoundError } from './errors';
import { PgExecutor, type Tx } from './postgres-executor';
import { pgEnsureSchema, pgMigrate } from './postgres-migrations';
import { AGENTS, ATTEMPTS, BUILDS, CREDENTIALS, IDENTITIES, JOBS, LEASES, SCHEDULES, TOKENS } from './postgres-statements';
import { redactPostgresUrl } from './postgres-url';
import { ATTEMPT_FIELDS, BUILD_FIELDS, JOB_FIELDS, applyPatch, checkAgent, checkCount, checkJobsOfBuild, checkLimit, checkLogBytes, checkSpec } from './record-rules';
import { SCHEDULE_FIELDS, checkSchedule, checkSchedulePatch, checkTick } from './schedule-rules';
import { checkAgentName, checkCertificate, checkIdentity, checkRegistryCredential, checkToken, redeemJoinToken } from './security-rules';
import { agentFromRow, agentToRow, type AgentRow } from './sqlite-agent-rows';
import * as rows from './sqlite-rows';
import { scheduleFromRow, scheduleToRow, tickFromRow, tickToRow, type ScheduleRow, type TickRow } from './sqlite-schedule-rows';
import { identityFromRow, identityToRow, tokenFromRow, tokenToRow, type AgentIdentityRow, type TokenRow } from './sqlite-security-rows';
import type { AgentRecord, AttemptPatch, AttemptRecord, BuildPatch, BuildRecord, JobPatch, JobRecord, ListBuildsFilter, Store, StoredBuild } from './store';
import type { AgentCertificateRecord, AgentIdentityRecord } from './store-identities';
import { IDLE_TICKS_KEPT, type SchedulePatch, type ScheduleRecord, type ScheduleTickRecord } from './store-schedules';
import type { RegistryCredentialRecord, TokenRecord } from './store-security';

export interface PostgresStoreOptions {
  /** Connections of the pool. Default 4: writes are serial per process, reads run beside them. */
  maxConnections?: number;
  /**
   * The schema to keep archfarm's tables in; created when missing. Default: the connection's
   * search_path (normally `public`). Lets one database hold several archfarms (or tests).
   */
  schema?: string;
  /**
   * Holds a session advisory lock on the database (schema) for the store's life, refusing to
   * open (StoreInUseError) while another exclusive store holds it: what a coordinator asks for
   * until several can share one database. The lock goes with the session, so a coordinator
   * killed with SIGKILL frees it as its connection drops. Default false.
   */
  exclusive?: boolean;
  /** Told of errors of idle connections (the server went away); the next call fails on its own. */
  onPoolError?: (err: Error) => void;
  /** Told the duration of every write transaction, in seconds (the store commit histogram). */
  onCommit?: (seconds: number) => void;
}

/*
 * int8 (times, lease ids, counts) as JS numbers, refusing any beyond 2^53; json and jsonb as
 * their text, which the row decoders parse (and validate) as they do SQLite's JSON columns.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === types.builtins.INT8) return safeInteger;
    if (oid === types.builtins.JSON || oid === types.builtins.JSONB) return (text: string) => text;
    return types.getTypeParser(oid, format);
  }) as typeof types.getTypeParser,
};

function safeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new StoreDataError('int8 column', `${text} is beyond JavaScript's safe integers`);
  return value;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** The advisory lock class of an exclusive store (the letters arcd); the object is the schema's name hashed. */
const COORDINATOR_LOCK = 0x61726364;

/**
 * The Store on PostgreSQL (`--store postgres://...`): the SQLite store's schema, migrations
 * and rows in a database that several coordinators can reach. See ./POSTGRES.md.
 */
export class PostgresStore implements Store {
  private readonly db: PgExecutor;

  private constructor(
    pool: Pool,
    private readonly holder: PoolClient | undefined,
    onCommit?: (seconds: number) => void,
  ) {
    this.db = new PgExecutor(pool, onCommit);
  }

  /**
   * Connects, and migrates the database to this archfarm's schema. Throws StoreVersionError,
   * without writing, when a newer archfarm wrote it.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const { schema } = options;
    if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new InvalidInputError('schema', 'must be a lower-case SQL identifier');
    const pool = new Pool({
      connectionString: url,
      max: (options.maxConnections ?? 4) + (options.exclusive ? 1 : 0),
      types: TYPES,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    pool.on('error', (err) => options.onPoolError?.(err));
    let holder: PoolClient | undefined;
    try {
      const client = await pool.connect().catch((err: unknown) => {
        throw new StoreUnreachableError(redactPostgresUrl(url), { cause: err });
      });
      try {
        if (schema) await pgEnsureSchema(client, schema);
        await pgMigrate(client, redactPostgresUrl(url));
      } finally {
        client.release();
      }
      if (options.exclusive) holder = await holdExclusive(pool, url, options.onPoolError);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresStore(pool, holder, options.onCommit);
  }

  async createBuild(build: BuildRecord, jobs: JobRecord[]): Promise<void> {
    checkSpec(build.spec);
    checkJobsOfBuild(build, jobs);
    await this.db.write(`createBuild ${build.id}`, async (tx) => {
      await tx.run(BUILDS.insert, rows.buildToRow(build));
      for (const job of jobs) await tx.run(JOBS.insert, rows.jobToRow(job));
    });
  }

  async updateBuild(id: string, patch: BuildPatch, jobs: ReadonlyArray<{ id: string; patch: JobPatch }> = []): Promise<void> {
    await this.db.write(`updateBuild ${id}`, async (tx) => {
      const row = await tx.one<rows.BuildRow>(BUILDS.getForUpdate, [id]);
      if (!row) throw new StoreRecordNotFoundError('build', id);
      await tx.run(BUILDS.update, rows.buildToRow(applyPatch(rows.buildFromRow(row), patch, BUILD_FIELDS, 'build')));
      for (const job of jobs) await patchJob(tx, job.id, job.patch, id);
    });
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    await this.db.write(`updateJob ${id}`, (tx) => patchJob(tx, id, patch));
  }

  async startAttempt(attempt: AttemptRecord, job: JobPatch): Promise<void> {
    checkLogBytes(attempt.logBytes);
    await this.db.write(`startAttempt ${attempt.attempt} of job ${attempt.jobId}`, async (tx) => {
      await patchJob(tx, attempt.jobId, job);
      await tx.run(ATTEMPTS.insert, rows.attemptToRow(attempt));
      await tx.run(LEASES.raise, [attempt.leaseId]);
    });
  }

  async endAttempt(jobId: string, attempt: number, patch: AttemptPatch, job?: JobPatch): Promise<void> {
    checkLogBytes(patch.logBytes);
    await this.db.write(`endAttempt ${attempt} of job ${jobId}`, async (tx) => {
      const row = await tx.one<rows.AttemptRow>(ATTEMPTS.getForUpdate, [jobId, attempt]);
      if (!row) throw new StoreRecordNotFoundError('attempt', `${attempt} of job ${jobId}`);
      await tx.run(ATTEMPTS.update, rows.attemptToRow(applyPatch(rows.attemptFromRow(row), patch, ATTEMPT_FIELDS, 'attempt')));
      if (job) await patchJob(tx, jobId, job);
    });
  }

  async setLogBytes(jobId: string, attempt: number, bytes: number): Promise<void> {
    checkLogBytes(bytes, 'bytes');
    await this.db.write(`setLogBytes ${attempt} of job ${jobId}`, async (tx) => {
      if ((await tx.run(ATTEMPTS.setLogBytes, [bytes, jobId, attempt])) === 0) throw new StoreRecordNotFoundError('attempt', `${attempt} of job ${jobId}`);
    });
  }

  async getBuild(id: string): Promise<StoredBuild | undefined> {
    return this.db.read(async (tx) => (await snapshots(tx, await tx.rows<rows.BuildRow>(BUILDS.get, [id])))[0]);
  }

  async listBuilds(limit: number, filter: ListBuildsFilter = {}): Promise<BuildRecord[]> {
    checkLimit(limit);
    const { schedule, states = [], createdSince } = filter;
    const params = [schedule ?? null, states.length > 0 ? states : null, createdSince ?? null, limit];
    return this.db.read(async (tx) => (await tx.rows<rows.BuildRow>(BUILDS.list, params)).map(rows.buildFromRow));
  }

  async unfinishedBuilds(): Promise<StoredBuild[]> {
    return this.db.read(async (tx) => snapshots(tx, await tx.rows<rows.BuildRow>(BUILDS.unfinished)));
  }

  async upsertAgent(record: AgentRecord): Promise<void> {
    checkAgent(record);
    await this.db.write(`upsertAgent ${record.name}`, (tx) => tx.run(AGENTS.upsert, agentToRow(record)));
  }

  async setAgentConnected(name: string, connected: boolean, lastSeen: number): Promise<void> {
    await this.db.write(`setAgentConnected ${name}`, async (tx) => {
      if ((await tx.run(AGENTS.setConnected, [connected ? 1 : 0, lastSeen, name])) === 0) throw new StoreRecordNotFoundError('agent', name);
    });
  }

  async setAgentDrained(name: string, drained: boolean): Promise<void> {
    await this.db.write(`setAgentDrained ${name}`, async (tx) => {
      if ((await tx.run(AGENTS.setDrained, [drained ? 1 : 0, name])) === 0) throw new StoreRecordNotFoundError('agent', name);
    });
  }

  async getAgent(name: string): Promise<AgentRecord | undefined> {
    return this.db.read(async (tx) => {
      const row = await tx.one<AgentRow>(AGENTS.get, [name]);
      return row && agentFromRow(row);
    });
  }

  async listAgents(): Promise<AgentRecord[]> {
    return this.db.read(async (tx) => (await tx.rows<AgentRow>(AGENTS.list)).map(agentFromRow));
  }

  async markAllDisconnected(now: number): Promise<void> {
    await this.db.write('markAllDisconnected', (tx) => tx.run(AGENTS.disconnectAll, [now]));
  }

  async nextLeaseId(): Promise<number> {
    return this.db.write('nextLeaseId', async (tx) => {
      const row = await tx.one<{ value: number }>(LEASES.next);
      if (row === undefined) throw new StoreDataError('counters', 'the lease counter row is missing');
      return row.value;
    });
  }

  async createToken(record: TokenRecord): Promise<void> {
    checkToken(record);
    await this.db.write(`createToken ${record.id}`, (tx) => tx.run(TOKENS.insert, tokenToRow(record)));
  }

  async findToken(hash: string): Promise<TokenRecord | undefined> {
    return this.db.read(async (tx) => {
      const row = await tx.one<TokenRow>(TOKENS.byHash, [hash]);
      return row && tokenFromRow(row);
    });
  }

  async useJoinToken(hash: string, now: number): Promise<TokenRecord> {
    return this.db.write('useJoinToken', (tx) => redeem(tx, hash, now));
  }

  async hasAdminToken(now: number): Promise<boolean> {
    return this.db.read(async (tx) => (await tx.one<{ has: boolean }>(TOKENS.hasAdmin, [now]))?.has === true);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.db.read(async (tx) => (await tx.rows<TokenRow>(TOKENS.list)).map(tokenFromRow));
  }

  async revokeToken(id: string, now: number): Promise<TokenRecord> {
    checkCount('now', now);
    return this.db.write(`revokeToken ${id}`, async (tx) => {
      if ((await tx.run(TOKENS.revoke, [now, id])) === 0) throw new TokenNotFoundError(id);
      return tokenFromRow((await tx.one<TokenRow>(TOKENS.byId, [id]))!);
    });
  }

  async enrolAgent(identity: AgentIdentityRecord, certificate: AgentCertificateRecord, tokenHash: string, now: number): Promise<TokenRecord> {
    checkIdentity(identity, certificate);
    return this.db.write(`enrolAgent ${identity.name}`, async (tx) => {
      const used = await redeem(tx, tokenHash, now);
      const taken = await tx.one<AgentIdentityRow>(IDENTITIES.byName, [identity.name]);
      if (taken) throw new AgentNameTakenError(identity.name, taken.revoked_at !== null);
      await tx.run(IDENTITIES.insert, identityToRow(identity));
      await tx.run(IDENTITIES.insertCertificate, [certificate.serial, identity.id, certificate.notAfter]);
      return used;
    });
  }

  async addAgentCertificate(identityId: string, certificate: AgentCertificateRecord, now: number): Promise<void> {
    checkCertificate(certificate);
    await this.db.write(`addAgentCertificate ${identityId}`, async (tx) => {
      if (!(await tx.one(IDENTITIES.byId, [identityId]))) throw new StoreRecordNotFoundError('agent', identityId);
      await tx.run(IDENTITIES.pruneCertificates, [identityId, now]);
      await tx.run(IDENTITIES.insertCertificate, [certificate.serial, identityId, certificate.notAfter]);
    });
  }

  async agentIdentityByName(name: string): Promise<AgentIdentityRecord | undefined> {
    return this.db.read(async (tx) => {
      const row = await tx.one<AgentIdentityRow>(IDENTITIES.byName, [name]);
      return row && identityFromRow(row);
    });
  }

  async agentIdentityByCertificate(serial: string): Promise<AgentIdentityRecord | undefined> {
    return this.db.read(async (tx) => {
      const row = await tx.one<AgentIdentityRow>(IDENTITIES.byCertificate, [serial]);
      return row && identityFromRow(row);
    });
  }

  async listAgentIdentities(): Promise<AgentIdentityRecord[]> {
    return this.db.read(async (tx) => (await tx.rows<AgentIdentityRow>(IDENTITIES.list)).map(identityFromRow));
  }

  async revokeAgent(name: string, now: number): Promise<AgentIdentityRecord> {
    checkAgentName(name);
    checkCount('now', now);
    return this.db.write(`revokeAgent ${name}`, async (tx) => {
      if ((await tx.run(IDENTITIES.revoke, [now, name])) === 0) throw new StoreRecordNotFoundError('agent', name);
      return identityFromRow((await tx.one<AgentIdentityRow>(IDENTITIES.byName, [name]))!);
    });
  }

  async forgetAgent(name: string): Promise<boolean> {
    return this.db.write(`forgetAgent ${name}`, async (tx) => {
      const identities = await tx.run(IDENTITIES.delete, [name]);
      return identities + (await tx.run(AGENTS.delete, [name])) > 0;
    });
  }

  async putRegistryCredential(registry: string, username: string, ciphertext: Buffer, now: number): Promise<void> {
    checkRegistryCredential(registry, username, ciphertext);
    checkCount('now', now);
    await this.db.write(`putRegistryCredential ${registry}`, (tx) => tx.run(CREDENTIALS.put, [registry, username, ciphertext, now]));
  }

  async getRegistryCredential(registry: string): Promise<RegistryCredentialRecord | undefined> {
    return this.db.read(async (tx) => {
      const row = await tx.one<{ username: string; secret: Buffer }>(CREDENTIALS.get, [registry]);
      return row && { username: row.username, ciphertext: row.secret };
    });
  }

  async listRegistries(): Promise<string[]> {
    return this.db.read(async (tx) => (await tx.rows<{ registry: string }>(CREDENTIALS.listRegistries)).map((r) => r.registry));
  }

  async deleteRegistryCredential(registry: string): Promise<boolean> {
    return this.db.write(`deleteRegistryCredential ${registry}`, async (tx) => (await tx.run(CREDENTIALS.delete, [registry])) > 0);
  }

  async putBuildCredential(buildId: string, ciphertext: Buffer): Promise<void> {
    if (ciphertext.length === 0) throw new InvalidInputError('ciphertext', 'must not be empty');
    await this.db.write(`putBuildCredential ${buildId}`, async (tx) => {
      if (!(await tx.one(BUILDS.exists, [buildId]))) throw new StoreRecordNotFoundError('build', buildId);
      await tx.run(CREDENTIALS.putBuild, [buildId, ciphertext]);
    });
  }

  async getBuildCredential(buildId: string): Promise<Buffer | undefined> {
    return this.db.read(async (tx) => (await tx.one<{ secret: Buffer }>(CREDENTIALS.getBuild, [buildId]))?.secret);
  }

  async deleteBuildCredential(buildId: string): Promise<void> {
    await this.db.write(`deleteBuildCredential ${buildId}`, (tx) => tx.run(CREDENTIALS.deleteBuild, [buildId]));
  }

  async createSchedule(record: ScheduleRecord): Promise<void> {
    checkSchedule(record);
    await this.db.write(`createSchedule ${record.name}`, (tx) => tx.run(SCHEDULES.insert, scheduleToRow(record)));
  }

  async getSchedule(name: string): Promise<ScheduleRecord | undefined> {
    return this.db.read(async (tx) => {
      const row = await tx.one<ScheduleRow>(SCHEDULES.get, [name]);
      return row && scheduleFromRow(row);
    });
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return this.db.read(async (tx) => (await tx.rows<ScheduleRow>(SCHEDULES.list)).map(scheduleFromRow));
  }

  async updateSchedule(name: string, patch: SchedulePatch): Promise<void> {
    checkSchedulePatch(patch);
    await this.db.write(`updateSchedule ${name}`, (tx) => patchSchedule(tx, name, patch));
  }

  async deleteSchedule(name: string): Promise<boolean> {
    return this.db.write(`deleteSchedule ${name}`, async (tx) => (await tx.run(SCHEDULES.delete, [name])) > 0);
  }

  async recordTick(tick: ScheduleTickRecord, patch: SchedulePatch): Promise<void> {
    checkTick(tick);
    checkSchedulePatch(patch);
    await this.db.write(`recordTick of schedule ${tick.schedule}`, async (tx) => {
      await patchSchedule(tx, tick.schedule, patch);
      await tx.run(SCHEDULES.insertTick, tickToRow(tick));
      if (tick.buildId === undefined) await tx.run(SCHEDULES.trimIdleTicks, [tick.schedule, IDLE_TICKS_KEPT]);
    });
  }

  async listTicks(schedule: string, limit: number, filter?: { built?: boolean }): Promise<ScheduleTickRecord[]> {
    checkLimit(limit);
    const statement = filter?.built ? SCHEDULES.listBuiltTicks : SCHEDULES.listTicks;
    return this.db.read(async (tx) => (await tx.rows<TickRow>(statement, [schedule, limit])).map(tickFromRow));
  }

  async close(): Promise<void> {
    // Destroyed, not returned to the pool: the session ends and its advisory lock with it.
    await this.db.close(() => this.holder?.release(true));
  }
}

/** A connection that keeps the coordinator lock of the URL's database (schema) until released. */
async function holdExclusive(pool: Pool, url: string, onError?: (err: Error) => void): Promise<PoolClient> {
  const client = await pool.connect();
  client.on('error', (err) => onError?.(err));
  const got = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS got', [COORDINATOR_LOCK]).catch((err: unknown) => {
    client.release(true);
    throw err;
  });
  if (got.rows[0]?.got === true) return client;
  client.release(true);
  throw new StoreInUseError(redactPostgresUrl(url));
}

async function patchJob(tx: Tx, id: string, patch: JobPatch, buildId?: string): Promise<void> {
  const row = await tx.one<rows.JobRow>(JOBS.getForUpdate, [id]);
  if (!row || (buildId !== undefined && row.build_id !== buildId)) throw new StoreRecordNotFoundError('job', buildId ? `${id} of build ${buildId}` : id);
  await tx.run(JOBS.update, rows.jobToRow(applyPatch(rows.jobFromRow(row), patch, JOB_FIELDS, 'job')));
}

async function patchSchedule(tx: Tx, name: string, patch: SchedulePatch): Promise<void> {
  const row = await tx.one<ScheduleRow>(SCHEDULES.getForUpdate, [name]);
  if (!row) throw new StoreRecordNotFoundError('schedule', name);
  await tx.run(SCHEDULES.patch, scheduleToRow(applyPatch(scheduleFromRow(row), patch, SCHEDULE_FIELDS, 'schedule')));
}

/** Counts one use of a join token down, under its row lock. */
async function redeem(tx: Tx, hash: string, now: number): Promise<TokenRecord> {
  const row = await tx.one<TokenRow>(TOKENS.byHashForUpdate, [hash]);
  const used = redeemJoinToken(row && tokenFromRow(row), now);
  if (used.usesLeft !== undefined) await tx.run(TOKENS.setUsesLeft, [used.usesLeft, used.id]);
  return used;
}

/** The builds of `buildRows` with their jobs and attempts, in the rows' order: three queries, however many builds. */
async function snapshots(tx: Tx, buildRows: rows.BuildRow[]): Promise<StoredBuild[]> {
  if (buildRows.length === 0) return [];
  const ids = buildRows.map((b) => b.id);
  const jobs = await tx.rows<rows.JobRow>(JOBS.ofBuilds, [ids]);
  const attempts = await tx.rows<rows.AttemptRow & { build_id: string }>(ATTEMPTS.ofBuilds, [ids]);
  const stored = new Map<string, StoredBuild>(buildRows.map((b) => [b.id, { build: rows.buildFromRow(b), jobs: [], attempts: [] }]));
  for (const j of jobs) stored.get(j.build_id)?.jobs.push(rows.jobFromRow(j));
  for (const { build_id: buildId, ...a } of attempts) stored.get(buildId)?.attempts.push(rows.attemptFromRow(a));
  return [...stored.values()];
}
