import { join } from 'node:path';
import { experimental, Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { createLogger, errorMessage, ImageRef, OpsHttpServer, PRUNE_INTERVAL_MS, staticCertificateProvider, type Logger } from '@archfarm/common';
import { CoordinatorPruner } from './prune/coordinator-pruner';
import { AgentServiceService, AuthServiceService, BuildServiceService, ProvenanceServiceService, ScheduleServiceService, VersionServiceService } from '@archfarm/proto';
import { BuildManager } from './builds/build-manager';
import { LogFiles } from './builds/log-files';
import { type Store } from './store';
import { openCoordinatorStore, type SqliteOpener } from './store/open-store';
import { describeStoreLocation } from './store/store-location';
import { agentSnapshots, CoordinatorMetrics } from './metrics';
import { openDataDir, type DataDirLock } from './data-dir';
import { Dispatcher } from './builds/dispatcher';
import { ContextStore } from './context-store';
import { GitContexts } from './git/git-contexts';
import { Fleet } from './fleet';
import { jobAssignment } from './job-spec';
import { compileOptions, type CompiledCoordinatorOptions, type CoordinatorOptions } from './options';
import { publishBuild } from './publish-build';
import { RegistryAccess } from './registry-access';
import { agentService } from './services/agent-service';
import { authService } from './services/auth-service';
import { secure, type Requirement } from './security/authorizer';
import { ensureAdminToken } from './security/bootstrap';
import { GRPC_MAX_MESSAGE_BYTES } from './security/limits';
import { AGENT_RULES, AUTH_RULES, BUILD_RULES, PROVENANCE_RULES, SCHEDULE_RULES } from './security/rules';
import { loadOrCreateSigningKey } from './provenance/signing-key';
import { provenanceService } from './provenance/provenance-service';
import { protocolCheck } from './version/protocol-check';
import { versionService } from './version/version-service';
import { SecretBox } from './security/secret-box';
import { loadOrCreateTls, type TlsMaterial } from './security/tls-setup';
import { AgentAdmin } from './services/agent-admin';
import { isCrossCompiling } from './cross-compile';
import { SealedBuildCredentials } from './build-credentials';
import { HeldCredentials } from './held-credentials';
import { specResolver } from './resolve-spec';
import { DurationHistory } from './scheduling/history';
import { DEFAULT_PLACEMENT } from './scheduling/placement';
import { buildService } from './services/build-service';
import { scheduleService } from './services/schedule-service';
import { BaseResolver } from './schedules/base-resolver';
import { Scheduler } from './schedules/scheduler';
import { tickEffects } from './schedules/tick-effects';

type State = 'starting' | 'serving' | 'stopping' | 'stopped';

/** What a Coordinator can be given besides its options and logger (tests set them). */
export interface CoordinatorDeps {
  /** Opens the SQLite store; default SqliteStore.open. A test holds it back to see /readyz answer 503. */
  openStore?: SqliteOpener;
}

/**
 * The coordinator service: one gRPC server for agents (who dial out to it) and operators.
 * Lifecycle: start() binds and serves; stop() ends agent streams and shuts down within a grace period.
 */
export class Coordinator {
  private state: State = 'starting';
  private pruner: CoordinatorPruner | undefined;
  private pruning: NodeJS.Timeout | undefined;
  private scheduler: Scheduler | undefined;
  /** --http-listen: /metrics, /healthz, /readyz; up before the store opens, closed last. */
  private ops: OpsHttpServer | undefined;

  private constructor(
    readonly options: CompiledCoordinatorOptions,
    private readonly server: Server,
    private readonly fleet: Fleet,
    private readonly dispatcher: Dispatcher,
    private readonly store: Store,
    readonly port: number,
    private readonly logger: Logger,
    private readonly dataDir: DataDirLock,
    /** This coordinator's own metrics registry (/metrics); tests read it in-process. */
    readonly metrics: CoordinatorMetrics,
  ) {}

  static async start(input: CoordinatorOptions, logger = createLogger('archfarm-coordinator'), deps: CoordinatorDeps = {}): Promise<Coordinator> {
    const options = compileOptions(input);
    const metrics = new CoordinatorMetrics();
    // Before the store: kubelet sees the process alive (/healthz) and not ready (/readyz 503)
    // while the data dir is narrowed, the store migrated and unfinished builds restored.
    const started: { coordinator?: Coordinator } = {};
    const listen = options.httpListen;
    const ops = listen ? await OpsHttpServer.listen(listen.hostname, listen.port ?? 0, { metrics: () => metrics.expose(), ready: () => started.coordinator?.state === 'serving' }, logger) : undefined;
    if (ops && listen) logger.info({ httpListen: `${listen.host}:${ops.port}` }, 'metrics and health endpoints listening');
    try {
      // First of all: the data dir made private and locked, before anything in it is opened.
      const dataDir = await openDataDir(options.dataDir, logger);
      try {
        started.coordinator = await Coordinator.serve(options, dataDir, logger, metrics, ops, deps);
        return started.coordinator;
      } catch (err) {
        dataDir.release();
        throw err;
      }
    } catch (err) {
      await ops?.close();
      throw err;
    }
  }

  /** The port --http-listen bound (0 picked one); undefined without it. */
  get httpPort(): number | undefined {
    return this.ops?.port;
  }

  private static async serve(options: CompiledCoordinatorOptions, dataDir: DataDirLock, logger: Logger, metrics: CoordinatorMetrics, ops: OpsHttpServer | undefined, deps: CoordinatorDeps): Promise<Coordinator> {
    const contexts = new ContextStore(join(options.dataDir, 'contexts'), options.maxContextBytes);
    await contexts.init();
    const git = new GitContexts({ dir: join(options.dataDir, 'git'), contexts, maxBytes: options.maxContextBytes, logger });
    await git.init();
    const registries = new RegistryAccess(options.insecureRegistries, { authFile: options.registryAuthFile, useHostDockerConfig: options.useHostDockerConfig }, logger);
    const store = await openCoordinatorStore(options.store, { onCommit: (s) => metrics.storeCommitted(s), logger, openSqlite: deps.openStore });
    const logs = new LogFiles(join(options.dataDir, 'logs'), options.maxLogBytes);
    const fleet = await trackAgents(new Fleet(), store, logger);
    const history = await loadHistory(store);
    const crossCompile = (digest: string, dockerfile: string) => isCrossCompiling(contexts, digest, dockerfile, logger);
    const secrets = await SecretBox.open(options.dataDir);
    const signingKey = await loadOrCreateSigningKey(options.dataDir);
    const held = new HeldCredentials(store, secrets, registries, logger);
    const resolveSpec = specResolver({ contexts, held, crossCompile });
    const builds = new BuildManager({
      agents: fleet,
      store,
      logs,
      logger,
      history,
      resolveSpec,
      credentials: new SealedBuildCredentials(store, secrets, logger),
      settings: { maxAttempts: options.maxAttempts, leaseTtlMs: options.leaseTtlMs, retryBaseMs: options.retryBaseDelayMs },
      jobSpec: (build, job) => jobAssignment(registries, build, job, logger),
      publish: (build, jobs, stop) =>
        publishBuild(registries, build, jobs, { attempts: options.publishAttempts, baseDelayMs: options.retryBaseDelayMs / 2, stop }, logger, { key: signingKey, store }),
      observer: metrics,
    });
    metrics.attach({ agents: () => agentSnapshots(fleet, store, builds.holdings), activeBuilds: () => builds.active() });
    const restored = await builds.restore();
    if (restored > 0) logger.info({ builds: restored }, 'resumed unfinished builds');
    const dispatcher = new Dispatcher(builds, fleet, history, { ...DEFAULT_PLACEMENT, nativeWaitMs: options.nativeWaitMs }, logger);
    const server = new Server({
      // Agents ping every 20 s to keep NAT mappings alive; allow that and a little more.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
      // Every call of a CLI or agent whose protocol this coordinator does not accept is refused here.
      interceptors: [protocolCheck(logger)],
    });
    const tls = await setUpSecurity(options, store, logger);
    const guard = (definition: ServiceDefinition, impl: UntypedServiceImplementation, rules: Record<string, Requirement>) =>
      tls ? secure(definition, impl, rules, { store, logger }) : impl;
    const agents = new AgentAdmin(fleet, store, builds.holdings);
    server.addService(AgentServiceService, guard(AgentServiceService, agentService({ fleet, builds, contexts, heartbeatIntervalMs: options.heartbeatIntervalMs, leaseTtlMs: options.leaseTtlMs, logger }), AGENT_RULES));
    server.addService(BuildServiceService, guard(BuildServiceService, buildService({ agents, dispatcher, crossCompile, resolveSpec, builds, store, logs, contexts, git, maxPendingBuilds: options.maxPendingBuilds, logger }), BUILD_RULES));
    const scheduler = new Scheduler({ store, logger, ...tickEffects({ contexts, git, bases: new BaseResolver({ registries, credentials: held, logger }), resolveSpec, builds }) });
    server.addService(ScheduleServiceService, guard(ScheduleServiceService, scheduleService({ store, scheduler, contexts, git, logger }), SCHEDULE_RULES));
    server.addService(ProvenanceServiceService, guard(ProvenanceServiceService, provenanceService(signingKey), PROVENANCE_RULES));
    // Unguarded on purpose: anyone, even with a revoked token, may learn the versions (SECURITY.md).
    server.addService(VersionServiceService, versionService());
    if (tls) server.addService(AuthServiceService, guard(AuthServiceService, authService({ store, fleet, tls, secrets, agentCertTtlMs: options.agentCertTtlMs, logger }), AUTH_RULES));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${options.host}:${options.port}`, serverCredentials(tls), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    dispatcher.start();
    const coordinator = new Coordinator(options, server, fleet, dispatcher, store, port, logger, dataDir, metrics);
    coordinator.ops = ops;
    coordinator.state = 'serving';
    // After the restore and with the dispatcher running: a missed tick may submit a build at once.
    coordinator.scheduler = scheduler;
    await scheduler.start();
    coordinator.pruner = new CoordinatorPruner({ store, contexts, logsDir: join(options.dataDir, 'logs'), limits: options.pruning, logger });
    coordinator.pruning = setInterval(() => void coordinator.prune(), PRUNE_INTERVAL_MS);
    coordinator.pruning.unref();
    void coordinator.prune();
    logger.info({ listen: `${options.host}:${port}`, dataDir: options.dataDir, store: describeStoreLocation(options.store) }, 'coordinator serving');
    return coordinator;
  }

  /**
   * One pass of the pruner (--retention, --max-disk): how many log folders and contexts went.
   * `nowMs` lets a test look from the future.
   */
  async prune(nowMs?: number): Promise<number> {
    const pruner = this.pruner;
    if (!pruner) return 0;
    const done = await pruner.prune(nowMs).catch((err: unknown) => (this.logger.warn({ err: errorMessage(err) }, 'pruning failed'), []));
    return done.length;
  }

  get address(): string {
    return `${this.options.host}:${this.port}`;
  }

  /** Ends agent streams (agents reconnect elsewhere or later), then shuts the server down. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.state !== 'serving') return;
    this.state = 'stopping';
    this.dispatcher.stop();
    clearInterval(this.pruning);
    await this.scheduler?.stop();
    for (const agent of this.fleet.list()) agent.close('coordinator shutting down');
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    this.metrics.detach();
    await this.store.close();
    this.dataDir.release();
    await this.ops?.close();
    this.state = 'stopped';
    this.logger.info('coordinator stopped');
  }
}

/**
 * Keeps the store's agent table in step with connections. A lost connection does not lose
 * its jobs at once: the agent has until its leases run out to reconnect and resume them.
 */
async function trackAgents(fleet: Fleet, store: Store, logger: Logger): Promise<Fleet> {
  const warn = (err: unknown) => logger.warn({ err: errorMessage(err) }, 'store: agent record not written');
  await store.markAllDisconnected(Date.now());
  for (const agent of await store.listAgents()) if (agent.drained) fleet.setDrained(agent.name, true);
  fleet.on('lost', (agent) => {
    logger.info({ agent: agent.name }, 'agent disconnected');
    store.setAgentConnected(agent.name, false, Date.now()).catch(warn);
  });
  fleet.on('joined', (agent) => {
    const now = Date.now();
    const { name, version, nodeVersion, engine, slots, labels, machine } = agent;
    const platforms = agent.platforms.map((p) => ({ platform: p.platform.toString(), mode: p.mode }));
    store.upsertAgent({ name, version, nodeVersion, engine, slots, labels, platforms, firstSeen: now, lastSeen: now, connected: true, drained: false, ...(machine ? { machine } : {}) }).catch(warn);
  });
  return fleet;
}

/** Durations of recent successful attempts, so placement learns from builds before a restart. */
async function loadHistory(store: Store): Promise<DurationHistory> {
  const history = new DurationHistory();
  const recent = await store.listBuilds(HISTORY_BUILDS);
  for (const record of recent.reverse()) {
    const full = await store.getBuild(record.id);
    for (const a of full?.attempts ?? []) {
      const job = full?.jobs.find((j) => j.id === a.jobId);
      if (job && a.outcome === 'succeeded' && a.endedAt) history.record(a.agent, job.platform, ImageRef.parse(record.spec.tag).name, a.endedAt - a.startedAt, a.mode);
    }
  }
  return history;
}

const HISTORY_BUILDS = 200;

/** TLS material and the first admin token; undefined in --insecure dev mode. */
async function setUpSecurity(options: CompiledCoordinatorOptions, store: Store, logger: Logger): Promise<TlsMaterial | undefined> {
  if (options.insecure) {
    logger.warn('INSECURE DEV MODE: no TLS, no tokens, anyone on this machine can build and act as an agent');
    return undefined;
  }
  const tls = await loadOrCreateTls(options.dataDir, { certFile: options.tlsCert || undefined, keyFile: options.tlsKey || undefined, clientCaFile: options.clientCa || undefined, sans: options.tlsSans }, options.host);
  await ensureAdminToken(store, options.dataDir, logger);
  logger.info({ caFingerprint: tls.fingerprint }, 'TLS ready; agents enrol with --ca-fingerprint');
  return tls;
}

/**
 * TLS that asks for a client certificate but does not require one: agents present theirs,
 * operators come with a token. Every handler then checks which of the two it needs
 * (security/authorizer). grpc-js offers this only through its certificate-provider API.
 */
function serverCredentials(tls: TlsMaterial | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  // One provider for both roles: grpc-js 1.14 reads the two arguments the other way round.
  const provider = staticCertificateProvider({ caPem: tls.caPem, certPem: tls.certPem, keyPem: tls.keyPem });
  return experimental.createCertificateProviderServerCredentials(provider, provider, false);
}
