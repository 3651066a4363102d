import { DEFAULT_LOG_LEVEL, formatDuration, parseDiskSize, parseDuration, type Setting } from '@archfarm/common';
import { DEFAULT_CANDIDATES } from './agent';
import { AGENT_DEFAULTS as D, type AgentOptions } from './options';

/** What archfarm-agent's flags, ARCHFARM_* variables and config file set: its options and its log level. */
export type AgentSettings = AgentOptions & { logLevel?: string };

/** Every flag of archfarm-agent, once (see common/src/daemon-settings.ts). */
export const AGENT_SETTINGS: readonly Setting<AgentSettings>[] = [
  { flag: '--coordinator', value: '<host:port>', kind: 'string', option: 'coordinator', help: `coordinator address (a host alone means port ${D.coordinatorPort})` },
  { flag: '--name', value: '<name>', kind: 'string', option: 'name', help: 'name in the fleet (default: host name)' },
  { flag: '--state-dir', value: '<dir>', kind: 'string', option: 'stateDir', help: 'where contexts and scratch files are kept', shownDefault: D.stateDir },
  { flag: '--docker-host', value: '<url>', kind: 'string', option: 'dockerHost', help: `engine API: unix:///var/run/docker.sock or tcp://host:2375 (default: DOCKER_HOST, else ${D.dockerHost})` },
  { flag: '--platforms', value: '<list>', kind: 'string', option: 'platforms', help: `serve only these platforms (default: every one of ${DEFAULT_CANDIDATES.join(', ')} the engine proves it can build)` },
  { flag: '--platform', value: '<list>', kind: 'string', option: 'platforms', help: 'same as --platforms', env: 'ARCHFARM_PLATFORM', hidden: true },
  { flag: '--slots', value: '<n>', kind: 'count', option: 'slots', help: 'jobs at once (default: half the CPUs, at least 1)' },
  { flag: '--probe-interval', value: '<duration>', kind: 'duration', option: 'probeIntervalMs', help: 'how often to probe the engine again for what it can build', shownDefault: formatDuration(D.probeIntervalMs) },
  { flag: '--join-token', value: '<token>', kind: 'string', option: 'joinToken', help: 'first start only: the join token from `archfarm tokens create`', secret: true },
  { flag: '--ca-fingerprint', value: '<sha256:hex>', kind: 'string', option: 'caFingerprint', help: "first start only: the coordinator CA's fingerprint, pinned before anything is sent" },
  { flag: '--insecure', kind: 'boolean', option: 'insecure', help: 'DEV MODE: plaintext, for a coordinator started with --insecure' },
  { flag: '--http-listen', value: '<host:port>', kind: 'string', option: 'httpListen', help: 'plain-HTTP listener for /metrics, /healthz and /readyz (off by default; keep it on loopback or a private network)' },
  { flag: '--retention', value: '<duration>', kind: 'string', option: 'retention', check: parseDuration, help: 'prune finished work (contexts, spool files, job images) older than this', shownDefault: D.retention },
  { flag: '--max-disk', value: '<size>', kind: 'string', option: 'maxDisk', check: parseDiskSize, help: 'prune the oldest finished work beyond this size', shownDefault: D.maxDisk },
  { flag: '--label', value: '<key=value>', kind: 'list', option: 'labels', help: 'label shown in `archfarm agents` (repeatable; the variable takes a comma list)' },
  { flag: '--log-level', value: '<level>', kind: 'string', option: 'logLevel', help: 'trace, debug, info, warn, error, fatal or silent', shownDefault: DEFAULT_LOG_LEVEL },
];
