import { DEFAULT_LOG_LEVEL, formatDuration, parseDiskSize, parseDuration, type Setting } from '@archfarm/common';
import { COORDINATOR_DEFAULTS as D, type CoordinatorOptions } from './options';
import { SQLITE_FILE, parseStoreLocation } from './store/store-location';

/** What archfarm-coordinator's flags, ARCHFARM_* variables and config file set: its options and its log level. */
export type CoordinatorSettings = CoordinatorOptions & { logLevel?: string };

const size = (bytes: number) => `${bytes / 1024 ** 3}GiB`;

/** Every flag of archfarm-coordinator, once (see common/src/daemon-settings.ts). */
export const COORDINATOR_SETTINGS: readonly Setting<CoordinatorSettings>[] = [
  { flag: '--listen', value: '<host:port>', kind: 'string', option: 'listen', help: 'address of the gRPC API for agents and the CLI', shownDefault: D.listen },
  { flag: '--data-dir', value: '<dir>', kind: 'string', option: 'dataDir', help: 'where build contexts and state are kept', shownDefault: D.dataDir },
  { flag: '--store', value: '<url>', kind: 'string', option: 'store', secret: true, check: (text, field) => parseStoreLocation(text, '.', field), help: 'keep the state in PostgreSQL: postgres://user@host:port/database (password: PGPASSWORD or ~/.pgpass); one coordinator per database for now', shownDefault: `DATA/${SQLITE_FILE} (SQLite)` },
  { flag: '--insecure-registry', value: '<host:port>', kind: 'list', option: 'insecureRegistries', help: 'registry to reach over plain HTTP (repeatable; loopback is always plain)' },
  { flag: '--registry-auth-file', value: '<path>', kind: 'string', option: 'registryAuthFile', help: 'Docker config.json holding registry credentials (default: none; see --use-host-docker-config)' },
  { flag: '--use-host-docker-config', kind: 'boolean', option: 'useHostDockerConfig', help: "read this host's own Docker config ($DOCKER_CONFIG or ~/.docker) for registry credentials; without it only `archfarm registry login` and builds' --forward-credentials supply any" },
  { flag: '--tls-cert', value: '<file>', kind: 'string', option: 'tlsCert', help: 'server certificate (PEM); default: one made in DATA/tls on first start' },
  { flag: '--tls-key', value: '<file>', kind: 'string', option: 'tlsKey', help: 'key of --tls-cert' },
  { flag: '--client-ca', value: '<file>', kind: 'string', option: 'clientCa', help: 'CA that agent certificates must chain to (with --tls-cert)' },
  { flag: '--tls-san', value: '<name>', kind: 'list', option: 'tlsSans', help: 'extra DNS name or IP for the generated server certificate (repeatable)' },
  { flag: '--insecure', kind: 'boolean', option: 'insecure', help: 'DEV MODE: plaintext, no tokens; loopback only' },
  { flag: '--http-listen', value: '<host:port>', kind: 'string', option: 'httpListen', help: 'plain-HTTP listener for /metrics, /healthz and /readyz (off by default; keep it on loopback or a private network)' },
  { flag: '--agent-cert-ttl', value: '<duration>', kind: 'duration', option: 'agentCertTtlMs', help: 'lifetime of agent certificates (renewed at two thirds)', shownDefault: formatDuration(D.agentCertTtlMs) },
  { flag: '--max-context-size', value: '<size>', kind: 'size', option: 'maxContextBytes', help: 'largest build context accepted', shownDefault: size(D.maxContextBytes) },
  { flag: '--retention', value: '<duration>', kind: 'string', option: 'retention', check: parseDuration, help: "prune finished builds' logs and contexts older than this", shownDefault: D.retention },
  { flag: '--max-disk', value: '<size>', kind: 'string', option: 'maxDisk', check: parseDiskSize, help: "prune the oldest finished builds' logs and contexts beyond this size", shownDefault: D.maxDisk },
  { flag: '--max-pending-builds', value: '<n>', kind: 'count', option: 'maxPendingBuilds', help: 'running builds per operator token', shownDefault: String(D.maxPendingBuilds) },
  { flag: '--heartbeat-interval', value: '<duration>', kind: 'duration', option: 'heartbeatIntervalMs', help: 'how often agents send heartbeats', shownDefault: formatDuration(D.heartbeatIntervalMs) },
  { flag: '--max-attempts', value: '<n>', kind: 'count', option: 'maxAttempts', help: 'tries per job for infrastructure failures', shownDefault: String(D.maxAttempts) },
  { flag: '--lease-ttl', value: '<duration>', kind: 'duration', option: 'leaseTtlMs', help: "a job goes back to the queue this long after its agent's last heartbeat", shownDefault: formatDuration(D.leaseTtlMs) },
  { flag: '--native-wait', value: '<duration>', kind: 'duration', option: 'nativeWaitMs', help: 'how long a job waits for a busy native agent before an emulating one takes it', shownDefault: formatDuration(D.nativeWaitMs) },
  { flag: '--retry-base-delay', value: '<duration>', kind: 'duration', option: 'retryBaseDelayMs', help: 'first retry delay of a job or a publish (doubles, with jitter)', shownDefault: formatDuration(D.retryBaseDelayMs) },
  { flag: '--log-level', value: '<level>', kind: 'string', option: 'logLevel', help: 'trace, debug, info, warn, error, fatal or silent', shownDefault: DEFAULT_LOG_LEVEL },
];
