import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { InvalidInputError } from '@archfarm/common';
import { AgentNameTakenError, StoreClosedError, StoreDataError, StoreRecordNotFoundError, TokenNotFoundError } from './errors';
import { GroupCommit } from './sqlite-group-commit';
import { checkVersion, migrate } from './migrations';
import { ATTEMPT_FIELDS, BUILD_FIELDS, JOB_FIELDS, applyPatch, checkAgent, checkCount, checkJobsOfBuild, checkLimit, checkLogBytes, checkSpec } from './record-rules';
import { checkAgentName, checkCertificate, checkIdentity, checkRegistryCredential, checkToken, redeemJoinToken } from './security-rules';
import { agentFromRow, agentToRow } from './sqlite-agent-rows';
import { SqliteSecurityStatements } from './sqlite-security-statements';
import { SqliteScheduleStatements } from './sqlite-schedule-statements';
import { scheduleFromRow, scheduleToRow, tickFromRow, tickToRow } from './sqlite-schedule-rows';
import { SCHEDULE_FIELDS, checkSchedule, checkSchedulePatch, checkTick } from './schedule-rules';
import { identityFromRow, identityToRow, tokenFromRow, tokenToRow } from './sqlite-security-rows';
import { SqliteStatements } from './sqlite-statements';
import * as rows from './sqlite-rows';
import type { AgentRecord, AttemptPatch, AttemptRecord, BuildPatch, BuildRecord, JobPatch, JobRecord, ListBuildsFilter, Store, StoredBuild } from './store';
import type { AgentCertificateRecord, AgentIdentityRecord } from './store-identities';
import { IDLE_TICKS_KEPT, type SchedulePatch, type ScheduleRecord, type ScheduleTickRecord } from './store-schedules';
import type { RegistryCredentialRecord, TokenRecord } from './store-security';

export interface SqliteStoreOptions {
  /**
   * When a commit reaches the disk. Default `full`.
   *
   * With WAL, `normal` never corrupts the database and survives a process crash (kill -9),
   * but a power cut or kernel crash may roll back the last commits: the WAL is synced only
   * at checkpoints. `full` syncs the WAL at every commit. archfarm's default is `full`
   * because what it commits goes out to agents and users right after: a lease id and
   * attempt number handed to an agent, a build id printed by `--detach`. Losing those
   * commits would reissue the same lease id and attempt to another agent after a restart,
   * which defeats fencing, and forget a build that a user was told exists; the coordinators
   * that lose power (a Pi, a laptop) are the ones this matters for. The cost is one fsync per
   * commit, and the state changes of one turn of the event loop share a commit (GroupCommit).
   * `normal` suits throwaway setups.
   */
  synchronous?: 'full' | 'normal';
  /** How long a write waits for another connection's lock before failing, ms. Default 5000. */
  busyTimeoutMs?: number;
  /** Told the duration of every commit, in seconds (the coordinator's store commit histogram). */
  onCommit?: (seconds: number) => void;
}

/** The embedded default Store: one SQLite file in the coordinator's data directory. */
export class SqliteStore implements Store {
  private open = true;
  private readonly sec: SqliteSecurityStatements;
  private readonly sched: SqliteScheduleStatements;
  private readonly group: GroupCommit;

  private constructor(
    private readonly db: Database.Database,
    private readonly sql: SqliteStatements,
    onCommit?: (seconds: number) => void,
  ) {
    this.sec = new SqliteSecurityStatements(db);
    this.sched = new SqliteScheduleStatements(db);
    this.group = new GroupCommit(db, onCommit);
  }

  /**
   * Opens (creating if needed) and migrates the database at `path`. Throws StoreVersionError,
   * without writing to the file, when a newer archfarm wrote it.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    ownerOnly(path);
    const db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      checkVersion(db, path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('foreign_keys = ON');
      migrate(db, path);
      return new SqliteStore(db, new SqliteStatements(db), options.onCommit);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async createBuild(build: BuildRecord, jobs: JobRecord[]): Promise<void> {
    checkSpec(build.spec);
    checkJobsOfBuild(build, jobs);
    await this.write(`createBuild ${build.id}`, () => {
      this.sql.insertBuild.run(rows.buildToRow(build));
      for (const job of jobs) this.sql.insertJob.run(rows.jobToRow(job));
    });
  }

  async updateBuild(id: string, patch: BuildPatch, jobs: ReadonlyArray<{ id: string; patch: JobPatch }> = []): Promise<void> {
    await this.write(`updateBuild ${id}`, () => {
      const row = this.sql.getBuild.get(id);
      if (!row) throw new StoreRecordNotFoundError('build', id);
      this.sql.updateBuild.run(rows.buildToRow(applyPatch(rows.buildFromRow(row), patch, BUILD_FIELDS, 'build')));
      for (const job of jobs) this.patchJob(job.id, job.patch, id);
    });
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    await this.write(`updateJob ${id}`, () => this.patchJob(id, patch));
  }

  async startAttempt(attempt: AttemptRecord, job: JobPatch): Promise<void> {
    checkLogBytes(attempt.logBytes);
    await this.write(`startAttempt ${attempt.attempt} of job ${attempt.jobId}`, () => {
      this.patchJob(attempt.jobId, job);
      this.sql.insertAttempt.run(rows.attemptToRow(attempt));
      this.sql.raiseLease.run(attempt.leaseId);
    });
  }

  async endAttempt(jobId: string, attempt: number, patch: AttemptPatch, job?: JobPatch): Promise<void> {
    checkLogBytes(patch.logBytes);
    await this.write(`endAttempt ${attempt} of job ${jobId}`, () => {
      const row = this.sql.getAttempt.get(jobId, attempt);
      if (!row) throw new StoreRecordNotFoundError('attempt', `${attempt} of job ${jobId}`);
      this.sql.updateAttempt.run(rows.attemptToRow(applyPatch(rows.attemptFromRow(row), patch, ATTEMPT_FIELDS, 'attempt')));
      if (job) this.patchJob(jobId, job);
    });
  }

  async setLogBytes(jobId: string, attempt: number, bytes: number): Promise<void> {
    checkLogBytes(bytes, 'bytes');
    await this.write(`setLogBytes ${attempt} of job ${jobId}`, () => {
      if (this.sql.setLogBytes.run(bytes, jobId, attempt).changes === 0) throw new StoreRecordNotFoundError('attempt', `${attempt} of job ${jobId}`);
    });
  }

  async getBuild(id: string): Promise<StoredBuild | undefined> {
    return this.read(() => this.snapshot(id));
  }

  async listBuilds(limit: number, filter: ListBuildsFilter = {}): Promise<BuildRecord[]> {
    checkLimit(limit);
    const { schedule, states = [], createdSince } = filter;
    const narrowed = states.length > 0 || createdSince !== undefined;
    return this.read(() =>
      (narrowed
        ? this.sql.listBuildsFiltered.all({ schedule: schedule ?? null, states: states.length > 0 ? JSON.stringify(states) : null, since: createdSince ?? null, limit })
        : schedule === undefined
          ? this.sql.listBuilds.all(limit)
          : this.sql.listBuildsOfSchedule.all(schedule, limit)
      ).map(rows.buildFromRow),
    );
  }

  async unfinishedBuilds(): Promise<StoredBuild[]> {
    return this.read(() => this.sql.unfinishedBuildIds.all().flatMap((id) => this.snapshot(id) ?? []));
  }

  async upsertAgent(record: AgentRecord): Promise<void> {
    checkAgent(record);
    await this.write(`upsertAgent ${record.name}`, () => this.sql.upsertAgent.run(agentToRow(record)));
  }

  async setAgentConnected(name: string, connected: boolean, lastSeen: number): Promise<void> {
    await this.write(`setAgentConnected ${name}`, () => {
      if (this.sql.setAgentConnected.run(connected ? 1 : 0, lastSeen, name).changes === 0) throw new StoreRecordNotFoundError('agent', name);
    });
  }

  async setAgentDrained(name: string, drained: boolean): Promise<void> {
    await this.write(`setAgentDrained ${name}`, () => {
      if (this.sql.setAgentDrained.run(drained ? 1 : 0, name).changes === 0) throw new StoreRecordNotFoundError('agent', name);
    });
  }

  async getAgent(name: string): Promise<AgentRecord | undefined> {
    return this.read(() => {
      const row = this.sql.getAgent.get(name);
      return row && agentFromRow(row);
    });
  }

  async listAgents(): Promise<AgentRecord[]> {
    return this.read(() => this.sql.listAgents.all().map(agentFromRow));
  }

  async markAllDisconnected(now: number): Promise<void> {
    await this.write('markAllDisconnected', () => this.sql.disconnectAll.run(now));
  }

  async nextLeaseId(): Promise<number> {
    return this.write('nextLeaseId', () => {
      const id = this.sql.nextLease.get();
      if (id === undefined) throw new StoreDataError('counters', 'the lease counter row is missing');
      return id;
    });
  }

  async createToken(record: TokenRecord): Promise<void> {
    checkToken(record);
    await this.write(`createToken ${record.id}`, () => this.sec.insertToken.run(tokenToRow(record)));
  }

  async findToken(hash: string): Promise<TokenRecord | undefined> {
    return this.read(() => {
      const row = this.sec.tokenByHash.get(hash);
      return row && tokenFromRow(row);
    });
  }

  async useJoinToken(hash: string, now: number): Promise<TokenRecord> {
    return this.write('useJoinToken', () => {
      const row = this.sec.tokenByHash.get(hash);
      const used = redeemJoinToken(row && tokenFromRow(row), now);
      if (used.usesLeft !== undefined) this.sec.setUsesLeft.run(used.usesLeft, used.id);
      return used;
    });
  }

  async hasAdminToken(now: number): Promise<boolean> {
    return this.read(() => this.sec.hasAdmin.get(now) === 1);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.read(() => this.sec.listTokens.all().map(tokenFromRow));
  }

  async revokeToken(id: string, now: number): Promise<TokenRecord> {
    checkCount('now', now);
    return this.write(`revokeToken ${id}`, () => {
      if (this.sec.revokeToken.run(now, id).changes === 0) throw new TokenNotFoundError(id);
      return tokenFromRow(this.sec.tokenById.get(id)!);
    });
  }

  async enrolAgent(identity: AgentIdentityRecord, certificate: AgentCertificateRecord, tokenHash: string, now: number): Promise<TokenRecord> {
    checkIdentity(identity, certificate);
    return this.write(`enrolAgent ${identity.name}`, () => {
      const row = this.sec.tokenByHash.get(tokenHash);
      const used = redeemJoinToken(row && tokenFromRow(row), now);
      const taken = this.sec.identityByName.get(identity.name);
      if (taken) throw new AgentNameTakenError(identity.name, taken.revoked_at !== null);
      this.sec.insertIdentity.run(identityToRow(identity));
      this.sec.insertCertificate.run(certificate.serial, identity.id, certificate.notAfter);
      if (used.usesLeft !== undefined) this.sec.setUsesLeft.run(used.usesLeft, used.id);
      return used;
    });
  }

  async addAgentCertificate(identityId: string, certificate: AgentCertificateRecord, now: number): Promise<void> {
    checkCertificate(certificate);
    await this.write(`addAgentCertificate ${identityId}`, () => {
      if (!this.sec.identityById.get(identityId)) throw new StoreRecordNotFoundError('agent', identityId);
      this.sec.pruneCertificates.run(identityId, now);
      this.sec.insertCertificate.run(certificate.serial, identityId, certificate.notAfter);
    });
  }

  async agentIdentityByName(name: string): Promise<AgentIdentityRecord | undefined> {
    return this.read(() => {
      const row = this.sec.identityByName.get(name);
      return row && identityFromRow(row);
    });
  }

  async agentIdentityByCertificate(serial: string): Promise<AgentIdentityRecord | undefined> {
    return this.read(() => {
      const row = this.sec.identityByCertificate.get(serial);
      return row && identityFromRow(row);
    });
  }

  async listAgentIdentities(): Promise<AgentIdentityRecord[]> {
    return this.read(() => this.sec.listIdentities.all().map(identityFromRow));
  }

  async revokeAgent(name: string, now: number): Promise<AgentIdentityRecord> {
    checkAgentName(name);
    checkCount('now', now);
    return this.write(`revokeAgent ${name}`, () => {
      if (this.sec.revokeIdentity.run(now, name).changes === 0) throw new StoreRecordNotFoundError('agent', name);
      return identityFromRow(this.sec.identityByName.get(name)!);
    });
  }

  async forgetAgent(name: string): Promise<boolean> {
    return this.write(`forgetAgent ${name}`, () => {
      const identities = this.sec.deleteIdentity.run(name).changes;
      return identities + this.sec.deleteAgent.run(name).changes > 0;
    });
  }

  async putRegistryCredential(registry: string, username: string, ciphertext: Buffer, now: number): Promise<void> {
    checkRegistryCredential(registry, username, ciphertext);
    checkCount('now', now);
    await this.write(`putRegistryCredential ${registry}`, () => this.sec.putCredential.run({ registry, username, secret: ciphertext, updated_at: now }));
  }

  async getRegistryCredential(registry: string): Promise<RegistryCredentialRecord | undefined> {
    return this.read(() => {
      const row = this.sec.getCredential.get(registry);
      return row && { username: row.username, ciphertext: row.secret };
    });
  }

  async listRegistries(): Promise<string[]> {
    return this.read(() => this.sec.listRegistries.all());
  }

  async deleteRegistryCredential(registry: string): Promise<boolean> {
    return this.write(`deleteRegistryCredential ${registry}`, () => this.sec.deleteCredential.run(registry).changes > 0);
  }

  async putBuildCredential(buildId: string, ciphertext: Buffer): Promise<void> {
    if (ciphertext.length === 0) throw new InvalidInputError('ciphertext', 'must not be empty');
    await this.write(`putBuildCredential ${buildId}`, () => {
      if (!this.sql.getBuild.get(buildId)) throw new StoreRecordNotFoundError('build', buildId);
      this.sec.putBuildCredential.run(buildId, ciphertext);
    });
  }

  async getBuildCredential(buildId: string): Promise<Buffer | undefined> {
    return this.read(() => this.sec.getBuildCredential.get(buildId));
  }

  async deleteBuildCredential(buildId: string): Promise<void> {
    await this.write(`deleteBuildCredential ${buildId}`, () => void this.sec.deleteBuildCredential.run(buildId));
  }

  async createSchedule(record: ScheduleRecord): Promise<void> {
    checkSchedule(record);
    await this.write(`createSchedule ${record.name}`, () => this.sched.insertSchedule.run(scheduleToRow(record)));
  }

  async getSchedule(name: string): Promise<ScheduleRecord | undefined> {
    return this.read(() => {
      const row = this.sched.getSchedule.get(name);
      return row && scheduleFromRow(row);
    });
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return this.read(() => this.sched.listSchedules.all().map(scheduleFromRow));
  }

  async updateSchedule(name: string, patch: SchedulePatch): Promise<void> {
    checkSchedulePatch(patch);
    await this.write(`updateSchedule ${name}`, () => this.patchSchedule(name, patch));
  }

  async deleteSchedule(name: string): Promise<boolean> {
    return this.write(`deleteSchedule ${name}`, () => this.sched.deleteSchedule.run(name).changes > 0);
  }

  async recordTick(tick: ScheduleTickRecord, patch: SchedulePatch): Promise<void> {
    checkTick(tick);
    checkSchedulePatch(patch);
    await this.write(`recordTick of schedule ${tick.schedule}`, () => {
      this.patchSchedule(tick.schedule, patch);
      this.sched.insertTick.run(tickToRow(tick));
      if (tick.buildId === undefined) this.sched.trimIdleTicks.run(tick.schedule, tick.schedule, IDLE_TICKS_KEPT);
    });
  }

  async listTicks(schedule: string, limit: number, filter?: { built?: boolean }): Promise<ScheduleTickRecord[]> {
    checkLimit(limit);
    const statement = filter?.built ? this.sched.listBuiltTicks : this.sched.listTicks;
    return this.read(() => statement.all(schedule, limit).map(tickFromRow));
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.group.flush();
    this.db.close();
  }

  private patchJob(id: string, patch: JobPatch, buildId?: string): void {
    const row = this.sql.getJob.get(id);
    if (!row || (buildId !== undefined && row.build_id !== buildId)) throw new StoreRecordNotFoundError('job', buildId ? `${id} of build ${buildId}` : id);
    this.sql.updateJob.run(rows.jobToRow(applyPatch(rows.jobFromRow(row), patch, JOB_FIELDS, 'job')));
  }

  private patchSchedule(name: string, patch: SchedulePatch): void {
    const row = this.sched.getSchedule.get(name);
    if (!row) throw new StoreRecordNotFoundError('schedule', name);
    this.sched.patchSchedule.run(scheduleToRow(applyPatch(scheduleFromRow(row), patch, SCHEDULE_FIELDS, 'schedule')));
  }

  private snapshot(id: string): StoredBuild | undefined {
    const build = this.sql.getBuild.get(id);
    if (!build) return undefined;
    return {
      build: rows.buildFromRow(build),
      jobs: this.sql.jobsOfBuild.all(id).map(rows.jobFromRow),
      attempts: this.sql.attemptsOfBuild.all(id).map(rows.attemptFromRow),
    };
  }

  /**
   * Runs `fn` now, in this turn's IMMEDIATE transaction (write lock up front, so no upgrade
   * deadlock between processes); settles once that transaction committed (GroupCommit).
   */
  private write<T>(operation: string, fn: () => T): Promise<T> {
    if (!this.open) throw new StoreClosedError();
    return this.group.write(operation, fn);
  }

  /** One read transaction: a consistent snapshot across the statements in `fn` (writes of this turn included). */
  private read<T>(fn: () => T): T {
    if (!this.open) throw new StoreClosedError();
    return this.db.transaction(fn).deferred();
  }
}

/**
 * The database holds token hashes, sealed credentials and every build's history: it is the
 * coordinator's alone (0600), whatever the umask. SQLite gives its -wal and -shm files the
 * database file's mode, so creating the file first is enough for them; an existing file (of
 * an older archfarm, 0644) is narrowed.
 */
function ownerOnly(path: string): void {
  if (path === ':memory:' || path === '') return;
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}
