import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_MAX_DISK, DEFAULT_RETENTION, HostPort, InvalidInputError, parseDiskSize, parseRetention, Platform, type RetentionLimits } from '@archfarm/common';

/** What an operator may set for an agent; every field has a documented default. */
export interface AgentOptions {
  /** host:port of the coordinator. Required. */
  coordinator?: string;
  /** Name in the fleet. Default: the host name. */
  name?: string;
  /** Where the agent keeps contexts and scratch files. Default ./.archfarm/agent. */
  stateDir?: string;
  /** Engine address: unix:///path or tcp://host:port. Default DOCKER_HOST or unix:///var/run/docker.sock. */
  dockerHost?: string;
  /** Narrow what this agent serves to these platforms (it still probes them). Default: all it can build. */
  platforms?: string;
  /** Jobs at once. Default: half the CPUs (builds are CPU-heavy, emulated ones most), at least 1. */
  slots?: number;
  /** How often the engine is probed again, so a newly installed QEMU (or a removed one) is noticed. Default 10 min. */
  probeIntervalMs?: number;
  /** Labels shown in `archfarm agents`, KEY=VALUE. */
  labels?: string[];
  /** One-time join token for the first start (from `archfarm tokens create`). */
  joinToken?: string;
  /** sha256 of the coordinator CA's public key, pinned at enrolment. */
  caFingerprint?: string;
  /** Dev mode against a coordinator started with --insecure. */
  insecure?: boolean;
  /** --retention: finished work (contexts, spool files, job images) older than this is pruned. Default DEFAULT_RETENTION (7d). */
  retention?: string;
  /** --max-disk: beyond this the oldest finished work is pruned. Default DEFAULT_MAX_DISK (20GiB). */
  maxDisk?: string;
  /** --http-listen: host:port of the plain-HTTP listener for /metrics, /healthz and /readyz. Default: off. */
  httpListen?: string;
}

export interface CompiledAgentOptions {
  /** host:port as given (a host without a port means 7420). */
  coordinator: string;
  coordinatorAddress: HostPort;
  name: string;
  stateDir: string;
  dockerHost: string;
  platforms: Platform[] | undefined;
  slots: number;
  probeIntervalMs: number;
  labels: Record<string, string>;
  joinToken: string | undefined;
  caFingerprint: string | undefined;
  insecure: boolean;
  retention: RetentionLimits;
  /** undefined: no HTTP listener. */
  httpListen: HostPort | undefined;
}

/** The one home of the agent's defaults (--help shows them from here). */
export const AGENT_DEFAULTS = {
  stateDir: '.archfarm/agent',
  dockerHost: 'unix:///var/run/docker.sock',
  probeIntervalMs: 600_000,
  /** The coordinator's port when --coordinator names only a host. */
  coordinatorPort: 7420,
  retention: DEFAULT_RETENTION,
  maxDisk: DEFAULT_MAX_DISK,
} as const;
const D = AGENT_DEFAULTS;

/** Applies defaults and checks every value once, at start-up, naming the flag at fault. */
export function compileAgentOptions(options: AgentOptions, env: NodeJS.ProcessEnv = process.env): CompiledAgentOptions {
  // ARCHFARM_* variables and the config file reach here as options (settings.ts); DOCKER_HOST is Docker's own.
  const coordinator = options.coordinator;
  if (!coordinator) throw new InvalidInputError('--coordinator', 'missing; give host:port of the coordinator (or set ARCHFARM_COORDINATOR)');
  const coordinatorAddress = HostPort.parse(coordinator, '--coordinator', { defaultPort: D.coordinatorPort, example: '192.168.1.10:7420' });
  const slots = options.slots ?? Math.max(1, Math.floor(availableParallelism() / 2));
  if (!Number.isInteger(slots) || slots < 1) throw new InvalidInputError('--slots', `must be a positive whole number, got ${options.slots}`);
  const labels: Record<string, string> = {};
  for (const item of options.labels ?? []) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new InvalidInputError('--label', `"${item}" must be KEY=VALUE`);
    labels[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return {
    coordinator: coordinatorAddress.toString(),
    coordinatorAddress,
    name: options.name ?? hostname(),
    stateDir: resolve(options.stateDir ?? D.stateDir),
    dockerHost: options.dockerHost ?? env.DOCKER_HOST ?? D.dockerHost,
    platforms: platformsOf(options.platforms),
    slots,
    probeIntervalMs: options.probeIntervalMs ?? D.probeIntervalMs,
    labels,
    joinToken: options.joinToken,
    caFingerprint: checkFingerprint(options.caFingerprint),
    insecure: options.insecure ?? false,
    httpListen: options.httpListen === undefined ? undefined : HostPort.parse(options.httpListen, '--http-listen', { allowPortZero: true, example: '127.0.0.1:7422' }),
    retention: { retentionMs: parseRetention(options.retention ?? D.retention), maxDiskBytes: parseDiskSize(options.maxDisk ?? D.maxDisk) },
  };
}

/** No list, or an empty one (a config file's ""), means "whatever the probe finds". */
function platformsOf(list: string | undefined): Platform[] | undefined {
  return list ? Platform.parseList(list, '--platforms') : undefined;
}

function checkFingerprint(value: string | undefined): string | undefined {
  if (value !== undefined && !/^sha256:[a-f0-9]{64}$/.test(value)) {
    throw new InvalidInputError('--ca-fingerprint', `"${value}" is not sha256:<64 hex>; copy it from the coordinator's start-up log or \`archfarm tokens create\``);
  }
  return value;
}
