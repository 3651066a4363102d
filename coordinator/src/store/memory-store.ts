import { AgentNameTakenError, StoreClosedError, StoreConflictError, StoreRecordNotFoundError, TokenNotFoundError } from './errors';
import { InvalidInputError } from '@archfarm/common';
import { ATTEMPT_FIELDS, BUILD_FIELDS, JOB_FIELDS, applyPatch, checkAgent, checkCount, checkJobsOfBuild, checkLimit, checkLogBytes, checkSpec, normaliseAttempt, withSpecDefaults } from './record-rules';
import { byCreation, checkAgentName, checkCertificate, checkIdentity, checkRegistryCredential, checkToken, normaliseIdentity, normaliseToken, redeemJoinToken, tokenUsable } from './security-rules';
import type { AgentRecord, AttemptPatch, AttemptRecord, BuildPatch, BuildRecord, JobPatch, JobRecord, ListBuildsFilter, Store, StoredBuild } from './store';
import type { AgentCertificateRecord, AgentIdentityRecord } from './store-identities';
import { SCHEDULE_FIELDS, checkSchedule, checkSchedulePatch, checkTick, normaliseSchedule, normaliseTick } from './schedule-rules';
import { IDLE_TICKS_KEPT, type SchedulePatch, type ScheduleRecord, type ScheduleTickRecord } from './store-schedules';
import type { RegistryCredentialRecord, TokenRecord } from './store-security';

/**
 * A Store in memory, for unit tests of coordinator logic. It keeps SqliteStore's rules
 * (patch semantics, conflicts, not-found, all-or-nothing, copies in and out) but nothing
 * survives the process.
 */
export class MemoryStore implements Store {
  private readonly builds = new Map<string, BuildRecord>();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly attempts = new Map<string, AttemptRecord>();
  private readonly agents = new Map<string, AgentRecord>();
  /** By id. */
  private readonly tokens = new Map<string, TokenRecord>();
  /** By name; and certificate serial -> identity id with its notAfter. */
  private readonly identities = new Map<string, AgentIdentityRecord>();
  private readonly certificates = new Map<string, { identityId: string; notAfter: number }>();
  private readonly credentials = new Map<string, RegistryCredentialRecord>();
  private readonly buildCredentials = new Map<string, Buffer>();
  private readonly schedules = new Map<string, ScheduleRecord>();
  /** By schedule, in insertion order. */
  private readonly ticks = new Map<string, ScheduleTickRecord[]>();
  private lease = 0;
  /** Lease ids of stored attempts. */
  private readonly leases = new Set<number>();
  private closed = false;

  async createBuild(build: BuildRecord, jobs: JobRecord[]): Promise<void> {
    this.check();
    checkSpec(build.spec);
    checkJobsOfBuild(build, jobs);
    const op = `createBuild ${build.id}`;
    if (this.builds.has(build.id)) throw new StoreConflictError(op, `build ${build.id} exists`);
    const ids = new Set<string>();
    const indexes = new Set<number>();
    for (const job of jobs) {
      if (this.jobs.has(job.id) || ids.has(job.id)) throw new StoreConflictError(op, `job ${job.id} exists`);
      if (indexes.has(job.index)) throw new StoreConflictError(op, `two jobs with index ${job.index}`);
      ids.add(job.id);
      indexes.add(job.index);
    }
    const copy = structuredClone(build);
    this.builds.set(build.id, { ...copy, spec: withSpecDefaults(copy.spec) });
    for (const job of jobs) this.jobs.set(job.id, structuredClone(job));
  }

  async updateBuild(id: string, patch: BuildPatch, jobs: ReadonlyArray<{ id: string; patch: JobPatch }> = []): Promise<void> {
    this.check();
    const build = this.builds.get(id);
    if (!build) throw new StoreRecordNotFoundError('build', id);
    const next = applyPatch(build, structuredClone(patch), BUILD_FIELDS, 'build');
    // Compute every change before applying any: all or nothing.
    const nextJobs = jobs.map((j) => this.patchedJob(j.id, j.patch, id));
    this.builds.set(id, next);
    for (const job of nextJobs) this.jobs.set(job.id, job);
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    this.check();
    const job = this.patchedJob(id, patch);
    this.jobs.set(id, job);
  }

  async startAttempt(attempt: AttemptRecord, job: JobPatch): Promise<void> {
    this.check();
    checkLogBytes(attempt.logBytes);
    const next = this.patchedJob(attempt.jobId, job);
    const op = `startAttempt ${attempt.attempt} of job ${attempt.jobId}`;
    if (this.attempts.has(key(attempt.jobId, attempt.attempt))) throw new StoreConflictError(op, 'the attempt exists');
    if (this.leases.has(attempt.leaseId)) throw new StoreConflictError(op, `lease ${attempt.leaseId} is in use`);
    this.jobs.set(next.id, next);
    this.leases.add(attempt.leaseId);
    this.lease = Math.max(this.lease, attempt.leaseId);
    this.attempts.set(key(attempt.jobId, attempt.attempt), normaliseAttempt(structuredClone(attempt)));
  }

  async endAttempt(jobId: string, attempt: number, patch: AttemptPatch, job?: JobPatch): Promise<void> {
    this.check();
    checkLogBytes(patch.logBytes);
    const next = applyPatch(this.attempt(jobId, attempt), structuredClone(patch), ATTEMPT_FIELDS, 'attempt');
    const nextJob = job ? this.patchedJob(jobId, job) : undefined;
    this.attempts.set(key(jobId, attempt), normaliseAttempt(next));
    if (nextJob) this.jobs.set(jobId, nextJob);
  }

  async setLogBytes(jobId: string, attempt: number, bytes: number): Promise<void> {
    this.check();
    checkLogBytes(bytes, 'bytes');
    this.attempts.set(key(jobId, attempt), normaliseAttempt({ ...this.attempt(jobId, attempt), logBytes: bytes }));
  }

  async getBuild(id: string): Promise<StoredBuild | undefined> {
    this.check();
    return this.snapshot(id);
  }

  async listBuilds(limit: number, filter: ListBuildsFilter = {}): Promise<BuildRecord[]> {
    this.check();
    checkLimit(limit);
    const { schedule, states = [], createdSince } = filter;
    const wanted = [...this.builds.values()].filter(
      (b) =>
        (schedule === undefined || b.spec.schedule === schedule) &&
        (states.length === 0 || states.includes(b.state)) &&
        (createdSince === undefined || b.createdAt >= createdSince),
    );
    const newestFirst = wanted.reverse().sort((a, b) => b.createdAt - a.createdAt);
    return structuredClone(newestFirst.slice(0, limit));
  }

  async unfinishedBuilds(): Promise<StoredBuild[]> {
    this.check();
    return [...this.builds.values()]
      .filter((b) => b.state === 'running' || b.state === 'publishing')
      .sort((a, b) => a.createdAt - b.createdAt)
      .flatMap((b) => this.snapshot(b.id) ?? []);
  }

  async upsertAgent(record: AgentRecord): Promise<void> {
    this.check();
    checkAgent(record);
    const known = this.agents.get(record.name);
    const kept = known ? { firstSeen: known.firstSeen, drained: known.drained } : {};
    this.agents.set(record.name, { ...structuredClone(record), ...kept });
  }

  async setAgentConnected(name: string, connected: boolean, lastSeen: number): Promise<void> {
    this.check();
    const agent = this.agents.get(name);
    if (!agent) throw new StoreRecordNotFoundError('agent', name);
    this.agents.set(name, { ...agent, connected, lastSeen });
  }

  async setAgentDrained(name: string, drained: boolean): Promise<void> {
    this.check();
    const agent = this.agents.get(name);
    if (!agent) throw new StoreRecordNotFoundError('agent', name);
    this.agents.set(name, { ...agent, drained });
  }

  async getAgent(name: string): Promise<AgentRecord | undefined> {
    this.check();
    return structuredClone(this.agents.get(name));
  }

  async listAgents(): Promise<AgentRecord[]> {
    this.check();
    return structuredClone([...this.agents.values()].sort((a, b) => byCodeUnit(a.name, b.name)));
  }

  async markAllDisconnected(now: number): Promise<void> {
    this.check();
    for (const agent of this.agents.values()) if (agent.connected) this.agents.set(agent.name, { ...agent, connected: false, lastSeen: now });
  }

  async nextLeaseId(): Promise<number> {
    this.check();
    return ++this.lease;
  }

  async createToken(record: TokenRecord): Promise<void> {
    this.check();
    checkToken(record);
    const op = `createToken ${record.id}`;
    if (this.tokens.has(record.id)) throw new StoreConflictError(op, `token ${record.id} exists`);
    // The hash stays out of the message, as SQLite's "UNIQUE constraint failed: tokens.hash" does.
    if (this.tokenByHash(record.hash)) throw new StoreConflictError(op, 'a token with this hash exists');
    this.tokens.set(record.id, normaliseToken(record));
  }

  async findToken(hash: string): Promise<TokenRecord | undefined> {
    this.check();
    return structuredClone(this.tokenByHash(hash));
  }

  async useJoinToken(hash: string, now: number): Promise<TokenRecord> {
    this.check();
    const used = redeemJoinToken(this.tokenByHash(hash), now);
    this.tokens.set(used.id, used);
    return structuredClone(used);
  }

  async hasAdminToken(now: number): Promise<boolean> {
    this.check();
    return [...this.tokens.values()].some((t) => t.kind === 'admin' && tokenUsable(t, now));
  }

  async listTokens(): Promise<TokenRecord[]> {
    this.check();
    return structuredClone([...this.tokens.values()].sort(byCreation));
  }

  async revokeToken(id: string, now: number): Promise<TokenRecord> {
    this.check();
    checkCount('now', now);
    const token = this.tokens.get(id);
    if (!token) throw new TokenNotFoundError(id);
    const revoked = { ...token, revokedAt: token.revokedAt ?? now };
    this.tokens.set(id, revoked);
    return structuredClone(revoked);
  }

  async enrolAgent(identity: AgentIdentityRecord, certificate: AgentCertificateRecord, tokenHash: string, now: number): Promise<TokenRecord> {
    this.check();
    checkIdentity(identity, certificate);
    const used = redeemJoinToken(this.tokenByHash(tokenHash), now);
    const taken = this.identities.get(identity.name);
    if (taken) throw new AgentNameTakenError(identity.name, taken.revokedAt !== undefined);
    if (this.certificates.has(certificate.serial)) throw new StoreConflictError(`enrolAgent ${identity.name}`, `certificate ${certificate.serial} exists`);
    this.identities.set(identity.name, normaliseIdentity(identity));
    this.certificates.set(certificate.serial, { identityId: identity.id, notAfter: certificate.notAfter });
    this.tokens.set(used.id, used);
    return structuredClone(used);
  }

  async addAgentCertificate(identityId: string, certificate: AgentCertificateRecord, now: number): Promise<void> {
    this.check();
    checkCertificate(certificate);
    if (![...this.identities.values()].some((i) => i.id === identityId)) throw new StoreRecordNotFoundError('agent', identityId);
    if (this.certificates.has(certificate.serial)) throw new StoreConflictError(`addAgentCertificate ${identityId}`, `certificate ${certificate.serial} exists`);
    for (const [serial, c] of this.certificates) if (c.identityId === identityId && c.notAfter < now) this.certificates.delete(serial);
    this.certificates.set(certificate.serial, { identityId, notAfter: certificate.notAfter });
  }

  async agentIdentityByName(name: string): Promise<AgentIdentityRecord | undefined> {
    this.check();
    return structuredClone(this.identities.get(name));
  }

  async agentIdentityByCertificate(serial: string): Promise<AgentIdentityRecord | undefined> {
    this.check();
    const id = this.certificates.get(serial)?.identityId;
    return structuredClone([...this.identities.values()].find((i) => i.id === id));
  }

  async listAgentIdentities(): Promise<AgentIdentityRecord[]> {
    this.check();
    return structuredClone([...this.identities.values()].sort((a, b) => byCodeUnit(a.name, b.name)));
  }

  async revokeAgent(name: string, now: number): Promise<AgentIdentityRecord> {
    this.check();
    checkAgentName(name);
    checkCount('now', now);
    const identity = this.identities.get(name);
    if (!identity) throw new StoreRecordNotFoundError('agent', name);
    const revoked = { ...identity, revokedAt: identity.revokedAt ?? now };
    this.identities.set(name, revoked);
    return structuredClone(revoked);
  }

  async forgetAgent(name: string): Promise<boolean> {
    this.check();
    const identity = this.identities.get(name);
    if (identity) for (const [serial, c] of this.certificates) if (c.identityId === identity.id) this.certificates.delete(serial);
    const had = this.identities.delete(name);
    return this.agents.delete(name) || had;
  }

  async putRegistryCredential(registry: string, username: string, ciphertext: Buffer, now: number): Promise<void> {
    this.check();
    checkRegistryCredential(registry, username, ciphertext);
    checkCount('now', now);
    this.credentials.set(registry, { username, ciphertext: Buffer.from(ciphertext) });
  }

  async getRegistryCredential(registry: string): Promise<RegistryCredentialRecord | undefined> {
    this.check();
    const found = this.credentials.get(registry);
    // structuredClone would turn the Buffer into a plain Uint8Array.
    return found && { username: found.username, ciphertext: Buffer.from(found.ciphertext) };
  }

  async listRegistries(): Promise<string[]> {
    this.check();
    return [...this.credentials.keys()].sort(byCodeUnit);
  }

  async deleteRegistryCredential(registry: string): Promise<boolean> {
    this.check();
    return this.credentials.delete(registry);
  }

  async putBuildCredential(buildId: string, ciphertext: Buffer): Promise<void> {
    this.check();
    if (ciphertext.length === 0) throw new InvalidInputError('ciphertext', 'must not be empty');
    if (!this.builds.has(buildId)) throw new StoreRecordNotFoundError('build', buildId);
    this.buildCredentials.set(buildId, Buffer.from(ciphertext));
  }

  async getBuildCredential(buildId: string): Promise<Buffer | undefined> {
    this.check();
    const found = this.buildCredentials.get(buildId);
    return found && Buffer.from(found);
  }

  async deleteBuildCredential(buildId: string): Promise<void> {
    this.check();
    this.buildCredentials.delete(buildId);
  }

  async createSchedule(record: ScheduleRecord): Promise<void> {
    this.check();
    checkSchedule(record);
    if (this.schedules.has(record.name)) throw new StoreConflictError(`createSchedule ${record.name}`, `schedule ${record.name} exists`);
    this.schedules.set(record.name, normaliseSchedule(record));
    this.ticks.set(record.name, []);
  }

  async getSchedule(name: string): Promise<ScheduleRecord | undefined> {
    this.check();
    return structuredClone(this.schedules.get(name));
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    this.check();
    return structuredClone([...this.schedules.values()].sort((a, b) => byCodeUnit(a.name, b.name)));
  }

  async updateSchedule(name: string, patch: SchedulePatch): Promise<void> {
    this.check();
    checkSchedulePatch(patch);
    this.schedules.set(name, this.patchedSchedule(name, patch));
  }

  async deleteSchedule(name: string): Promise<boolean> {
    this.check();
    this.ticks.delete(name);
    return this.schedules.delete(name);
  }

  async recordTick(tick: ScheduleTickRecord, patch: SchedulePatch): Promise<void> {
    this.check();
    checkTick(tick);
    checkSchedulePatch(patch);
    const next = this.patchedSchedule(tick.schedule, patch);
    this.schedules.set(next.name, next);
    const ticks = this.ticks.get(next.name) ?? [];
    ticks.push(normaliseTick(tick));
    if (tick.buildId === undefined) {
      const idle = newestFirst(ticks).filter((t) => t.buildId === undefined);
      const dropped = new Set(idle.slice(IDLE_TICKS_KEPT));
      this.ticks.set(next.name, ticks.filter((t) => !dropped.has(t)));
    }
  }

  async listTicks(schedule: string, limit: number, filter?: { built?: boolean }): Promise<ScheduleTickRecord[]> {
    this.check();
    checkLimit(limit);
    const ticks = newestFirst(this.ticks.get(schedule) ?? []).filter((t) => !filter?.built || t.buildId !== undefined);
    return structuredClone(ticks.slice(0, limit));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError();
  }

  private tokenByHash(hash: string): TokenRecord | undefined {
    return [...this.tokens.values()].find((t) => t.hash === hash);
  }

  private attempt(jobId: string, attempt: number): AttemptRecord {
    const found = this.attempts.get(key(jobId, attempt));
    if (!found) throw new StoreRecordNotFoundError('attempt', `${attempt} of job ${jobId}`);
    return found;
  }

  private patchedSchedule(name: string, patch: SchedulePatch): ScheduleRecord {
    const schedule = this.schedules.get(name);
    if (!schedule) throw new StoreRecordNotFoundError('schedule', name);
    return applyPatch(schedule, patch, SCHEDULE_FIELDS, 'schedule');
  }

  private patchedJob(id: string, patch: JobPatch, buildId?: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job || (buildId !== undefined && job.buildId !== buildId)) throw new StoreRecordNotFoundError('job', buildId ? `${id} of build ${buildId}` : id);
    return applyPatch(job, structuredClone(patch), JOB_FIELDS, 'job');
  }

  private snapshot(id: string): StoredBuild | undefined {
    const build = this.builds.get(id);
    if (!build) return undefined;
    const jobs = [...this.jobs.values()].filter((j) => j.buildId === id).sort((a, b) => a.index - b.index);
    const order = new Map(jobs.map((j) => [j.id, j.index]));
    const attempts = [...this.attempts.values()]
      .filter((a) => order.has(a.jobId))
      .sort((a, b) => (order.get(a.jobId) ?? 0) - (order.get(b.jobId) ?? 0) || a.attempt - b.attempt);
    return structuredClone({ build, jobs, attempts });
  }
}

/** SQLite's ORDER BY on text: code-unit order matches its byte order for the names used here. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function key(jobId: string, attempt: number): string {
  return `${jobId}\u0000${attempt}`;
}

/** Newest first; reversed before the stable sort, so ticks of one ranAt are newest inserted first. */
function newestFirst(ticks: readonly ScheduleTickRecord[]): ScheduleTickRecord[] {
  return [...ticks].reverse().sort((a, b) => b.ranAt - a.ranAt);
}
