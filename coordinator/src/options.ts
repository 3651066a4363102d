import { resolve } from 'node:path';
import { parseStoreLocation, type StoreLocation } from './store/store-location';
import { DEFAULT_MAX_DISK, DEFAULT_RETENTION, formatDuration, HostPort, InvalidInputError, parseDiskSize, parseRetention, type RetentionLimits } from '@archfarm/common';

/** What an operator may set; every field has a documented default. */
export interface CoordinatorOptions {
  /** host:port of the gRPC API for agents and the CLI. Default 127.0.0.1:7420; port 0 picks one. */
  listen?: string;
  /** Where contexts, logs, keys and (by default) the store live. Default ./.archfarm/coordinator. */
  dataDir?: string;
  /**
   * --store: a postgres://user@host:port/database URL to keep the store in PostgreSQL.
   * Default (absent or ""): the SQLite file archfarm.db in the data dir.
   */
  store?: string;
  /** Registries (host:port) spoken to over plain HTTP, besides loopback ones. */
  insecureRegistries?: string[];
  /** Docker config.json with registry credentials, read because it is named. Default: none (see useHostDockerConfig). */
  registryAuthFile?: string;
  /**
   * Read this host's own Docker config ($DOCKER_CONFIG/config.json, else ~/.docker/config.json)
   * for registry credentials when no --registry-auth-file is given. Default false: whatever the
   * coordinator's user once `docker login`ed to is not lent to every builder by accident.
   */
  useHostDockerConfig?: boolean;
  /** How often agents send heartbeats. Default 5000 ms. */
  heartbeatIntervalMs?: number;
  /** Tries per job before an infrastructure failure fails the build. Default 3. */
  maxAttempts?: number;
  /** A job whose agent sent no heartbeat for this long goes back to the queue. Default 30000 ms. */
  leaseTtlMs?: number;
  /** First delay before a job or a publish is retried; doubles each time, with jitter. Default 2000 ms. */
  retryBaseDelayMs?: number;
  /** Tries of the final merge when the registry is down or answers 5xx. Default 6. */
  publishAttempts?: number;
  /** Own TLS identity and the CA agents' certificates must chain to; default: made in DATA/tls on first start. */
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  /** Extra DNS names or IPs for the generated server certificate. */
  tlsSans?: string[];
  /** Dev mode: plaintext, loopback only. */
  insecure?: boolean;
  /** Lifetime of agents' client certificates. Default 24 h. */
  agentCertTtlMs?: number;
  /** Builds one operator token may have running at once. Default 20. */
  maxPendingBuilds?: number;
  /** prefer-native: how long a job waits for a busy native agent before it is emulated. Default 30000 ms. */
  nativeWaitMs?: number;
  /** Log bytes kept per job attempt. Default 16 MiB. */
  maxLogBytes?: number;
  /** Largest build context accepted. Default 2 GiB. */
  maxContextBytes?: number;
  /** --retention: finished builds' logs and contexts older than this are pruned. Default DEFAULT_RETENTION (7d). */
  retention?: string;
  /** --max-disk: beyond this the oldest finished builds' logs and contexts are pruned. Default DEFAULT_MAX_DISK (20GiB). */
  maxDisk?: string;
  /** --http-listen: host:port of the plain-HTTP listener for /metrics, /healthz and /readyz. Default: off. */
  httpListen?: string;
}

export type CompiledCoordinatorOptions = Required<Omit<CoordinatorOptions, 'registryAuthFile' | 'retention' | 'maxDisk' | 'httpListen' | 'store'>> & {
  store: StoreLocation;
  registryAuthFile: string | undefined;
  /** undefined: no HTTP listener. */
  httpListen: HostPort | undefined;
  pruning: RetentionLimits;
  host: string;
  port: number;
};

/** The one home of the coordinator's defaults (--help shows them from here). */
export const COORDINATOR_DEFAULTS = {
  listen: '127.0.0.1:7420',
  dataDir: '.archfarm/coordinator',
  heartbeatIntervalMs: 5000,
  maxAttempts: 3,
  leaseTtlMs: 30_000,
  retryBaseDelayMs: 2000,
  publishAttempts: 6,
  nativeWaitMs: 30_000,
  agentCertTtlMs: 24 * 3600_000,
  maxPendingBuilds: 20,
  maxLogBytes: 16 * 1024 * 1024,
  maxContextBytes: 2 * 1024 * 1024 * 1024,
  retention: DEFAULT_RETENTION,
  maxDisk: DEFAULT_MAX_DISK,
} as const;

const D = COORDINATOR_DEFAULTS;

/** Applies defaults and checks every value once, at start-up, naming the flag at fault. */
export function compileOptions(options: CoordinatorOptions): CompiledCoordinatorOptions {
  const listen = options.listen ?? D.listen;
  const address = HostPort.parse(listen, '--listen', { allowPortZero: true, example: '0.0.0.0:7420' });
  const positive = (flag: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(flag, `must be a positive whole number, got ${value}`);
    return value;
  };
  const heartbeat = options.heartbeatIntervalMs ?? D.heartbeatIntervalMs;
  if (heartbeat * 2 > (options.leaseTtlMs ?? D.leaseTtlMs)) {
    throw new InvalidInputError('--lease-ttl', `must be at least twice --heartbeat-interval (${formatDuration(heartbeat)}), or one late heartbeat loses a job`);
  }
  return {
    listen,
    host: address.host,
    port: address.port!,
    dataDir: resolve(options.dataDir ?? D.dataDir),
    store: parseStoreLocation(options.store, resolve(options.dataDir ?? D.dataDir)),
    insecureRegistries: options.insecureRegistries ?? [],
    registryAuthFile: options.registryAuthFile,
    useHostDockerConfig: options.useHostDockerConfig ?? false,
    heartbeatIntervalMs: positive('--heartbeat-interval', options.heartbeatIntervalMs ?? D.heartbeatIntervalMs),
    maxAttempts: positive('--max-attempts', options.maxAttempts ?? D.maxAttempts),
    leaseTtlMs: positive('--lease-ttl', options.leaseTtlMs ?? D.leaseTtlMs),
    retryBaseDelayMs: positive('--retry-base-delay', options.retryBaseDelayMs ?? D.retryBaseDelayMs),
    publishAttempts: positive('--publish-attempts', options.publishAttempts ?? D.publishAttempts),
    nativeWaitMs: positive('--native-wait', options.nativeWaitMs ?? D.nativeWaitMs),
    tlsCert: options.tlsCert ?? '',
    tlsKey: options.tlsKey ?? '',
    clientCa: options.clientCa ?? '',
    tlsSans: options.tlsSans ?? [],
    insecure: insecureOnLoopback(options.insecure ?? false, address),
    agentCertTtlMs: positive('--agent-cert-ttl', options.agentCertTtlMs ?? D.agentCertTtlMs),
    maxPendingBuilds: positive('--max-pending-builds', options.maxPendingBuilds ?? D.maxPendingBuilds),
    maxLogBytes: positive('--max-log-bytes', options.maxLogBytes ?? D.maxLogBytes),
    maxContextBytes: positive('--max-context-size', options.maxContextBytes ?? D.maxContextBytes),
    httpListen: options.httpListen === undefined ? undefined : HostPort.parse(options.httpListen, '--http-listen', { allowPortZero: true, example: '127.0.0.1:7421' }),
    pruning: { retentionMs: parseRetention(options.retention ?? D.retention), maxDiskBytes: parseDiskSize(options.maxDisk ?? D.maxDisk) },
  };
}

/** --insecure turns TLS and all access checks off, so it is refused anywhere but loopback. */
function insecureOnLoopback(insecure: boolean, listen: HostPort): boolean {
  if (insecure && !listen.isLoopback) {
    throw new InvalidInputError('--insecure', `dev mode listens on loopback only; use --listen 127.0.0.1:PORT, not ${listen.host}`);
  }
  return insecure;
}
