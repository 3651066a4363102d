import { InvalidInputError } from '@archfarm/common';
import { readConfig, type CliConfig } from './config-file';
import { ConfigFileInvalidError, NoCaError, NoTokenError } from './errors';
import { resolveCoordinator } from './options';
import { isCertificatePem, trustFromLayers, type Trust } from './trust';

type Env = Readonly<Record<string, string | undefined>>;

/** The program-wide flags that say where the coordinator is and how to trust and authenticate to it. */
export interface ConnectionFlags {
  coordinator?: string;
  token?: string;
  caFile?: string;
  caFingerprint?: string;
  insecure?: boolean;
}

/** Where and how to connect, validated; the CA may still have to be fetched (trust.kind 'fingerprint'). */
export interface ConnectionSettings {
  address: string;
  /** Sent as `authorization: Bearer <token>` on every call; undefined only with --insecure. */
  token: string | undefined;
  trust: Trust;
  /** Lines for stderr when connecting: the --insecure warning, a config file others can read. */
  warnings: string[];
}

export interface ResolveOptions {
  /** `login` checks a new token and must not fall back to the stored one. Default true. */
  useConfigToken?: boolean;
  /** `version` works without a token: GetVersion is open to every caller. Default true. */
  requireToken?: boolean;
}

/**
 * Compiles the connection flags, the environment and the config file (in that order of
 * precedence) into settings; every failure names its flag, variable or file:
 * - address: --coordinator, ARCHFARM_COORDINATOR, config `coordinator`, 127.0.0.1:7420
 * - token: --token, ARCHFARM_TOKEN, config `token`
 * - trust: --insecure | --ca-file [--ca-fingerprint] | --ca-fingerprint, then the same from
 *   ARCHFARM_INSECURE, ARCHFARM_CA_FILE, ARCHFARM_CA_FINGERPRINT, then config `caPem`.
 */
export function resolveConnection(flags: ConnectionFlags, env: Env, options: ResolveOptions = {}): ConnectionSettings {
  const loaded = readConfig(env);
  const { config } = loaded;
  const address = resolveCoordinator(flags.coordinator, env, config.coordinator === undefined ? undefined : { value: config.coordinator, field: `${loaded.path}: coordinator` });
  const trust = resolveTrust(flags, env, config, loaded.path) ?? fail(new NoCaError(address));
  const warnings = loaded.warning === undefined ? [] : [loaded.warning];
  if (trust.kind === 'insecure') {
    checkLoopback(address, trust.field);
    warnings.push(`${trust.field}: talking to the coordinator at ${address} in plain text, without checking who it is (dev mode only)`);
  }
  // A stored token belongs to a coordinator reached over TLS; never send it in plain text.
  const stored = options.useConfigToken === false || trust.kind === 'insecure' ? undefined : config.token;
  const token = resolveToken(flags.token, env.ARCHFARM_TOKEN, stored);
  if (token === undefined && trust.kind !== 'insecure' && options.useConfigToken !== false && options.requireToken !== false) throw new NoTokenError(address);
  return { address, token, trust, warnings };
}

function resolveTrust(flags: ConnectionFlags, env: Env, config: CliConfig, configFile: string): Trust | undefined {
  const trust = trustFromLayers([
    {
      insecure: flags.insecure === true,
      caFile: nonEmpty(flags.caFile),
      fingerprint: nonEmpty(flags.caFingerprint),
      names: { insecure: '--insecure', caFile: '--ca-file', fingerprint: '--ca-fingerprint' },
    },
    {
      insecure: envSwitch(env.ARCHFARM_INSECURE, 'ARCHFARM_INSECURE'),
      caFile: nonEmpty(env.ARCHFARM_CA_FILE),
      fingerprint: nonEmpty(env.ARCHFARM_CA_FINGERPRINT),
      names: { insecure: 'ARCHFARM_INSECURE', caFile: 'ARCHFARM_CA_FILE', fingerprint: 'ARCHFARM_CA_FINGERPRINT' },
    },
  ]);
  if (trust !== undefined || config.caPem === undefined) return trust;
  if (!isCertificatePem(config.caPem)) throw new ConfigFileInvalidError(configFile, '"caPem" is not a PEM certificate');
  return { kind: 'ca', caPem: config.caPem, source: configFile };
}

/** The first token given; checked to be one HTTP header word, without ever quoting it. */
function resolveToken(flag: string | undefined, fromEnv: string | undefined, stored: string | undefined): string | undefined {
  const candidates: [string | undefined, string][] = [
    [flag, '--token'],
    [fromEnv, 'ARCHFARM_TOKEN'],
    [stored, 'the config file token'],
  ];
  for (const [value, field] of candidates) {
    const token = value?.trim();
    if (!token) continue;
    if (!/^[\x21-\x7e]+$/.test(token)) throw new InvalidInputError(field, 'holds spaces or control characters; an API token is one word of printable characters');
    return token;
  }
  return undefined;
}

/** ARCHFARM_INSECURE=1 (or true, yes) turns it on; 0, false, no or empty leave it off. */
function envSwitch(value: string | undefined, name: string): boolean {
  const text = value?.trim().toLowerCase() ?? '';
  if (['1', 'true', 'yes'].includes(text)) return true;
  if (['', '0', 'false', 'no'].includes(text)) return false;
  throw new InvalidInputError(name, `"${value}" is not 1 or 0`);
}

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|\[::1\]|::1|localhost)$/i;

/** A dev coordinator listens on loopback only; plain text anywhere else would expose everything. */
function checkLoopback(address: string, field: string): void {
  if (/^unix(?:-abstract)?:/.test(address)) return;
  const host = address.slice(0, address.lastIndexOf(':'));
  if (!LOOPBACK.test(host)) {
    throw new InvalidInputError(field, `only for a dev coordinator on this machine (127.0.0.1, ::1, localhost), not ${address}; a remote coordinator needs TLS: run \`archfarm login\``);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value?.trim() ? value.trim() : undefined;
}

function fail(err: Error): never {
  throw err;
}
