import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runCredentialHelper, type CredentialHelperOptions } from './docker-credential-helper';
import { DockerConfigInvalidError } from './errors';
import type { RegistryCredentials } from './registry-auth';

/** The key `docker login` uses for Docker Hub, whatever host name the image used. */
const DOCKER_HUB_KEY_HOST = 'index.docker.io';
/** What the docker CLI hands a credential helper for Docker Hub. */
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
}

/** Where Docker keeps config.json: $DOCKER_CONFIG, else ~/.docker. */
export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: unknown;
  credHelpers?: Record<string, unknown>;
}

/**
 * The credentials Docker holds for a registry, looked up as the docker CLI does: the helper
 * `credHelpers[host]` names, else the `credsStore` helper (each run as `docker-credential-NAME
 * get`), else `auths[host]` (`auth` = base64 "user:pass", or username/password fields).
 * Undefined when none has any, including a helper that answers "credentials not found";
 * a helper that is missing or fails is a CredentialHelperError naming it, a broken file a
 * DockerConfigInvalidError. Keys are matched by host name as Docker does ("https://host/v1/"
 * names "host"), and Docker Hub's host names all map to its "https://index.docker.io/v1/" key.
 * Synchronous (a helper runs with execFileSync and a timeout, `options.timeoutMs`): the file is
 * small and read when a client is made, which is synchronous. Used by the CLI and the coordinator.
 */
export function loadDockerCredentials(
  registry: string,
  configPath = defaultDockerConfigPath(),
  options: CredentialHelperOptions = {},
): RegistryCredentials | undefined {
  const config = readConfig(configPath);
  if (config === undefined) return undefined;
  const wanted = hostKey(registry);
  const helper = helperFor(config, wanted, configPath);
  if (helper !== undefined) {
    const server = wanted === DOCKER_HUB_KEY_HOST ? DOCKER_HUB_SERVER : wanted;
    const found = runCredentialHelper(helper, server, configPath, options);
    if (found) return found;
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (hostKey(key) === wanted) return credentialsOf(configPath, key, entry);
  }
  return undefined;
}

function readConfig(configPath: string): DockerConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DockerConfigInvalidError(configPath, `cannot read it: ${String(err)}`, { cause: err });
  }
  try {
    return JSON.parse(text) as DockerConfigFile;
  } catch (err) {
    throw new DockerConfigInvalidError(configPath, 'it is not JSON', { cause: err });
  }
}

/** credHelpers[host] first, then credsStore, as the docker CLI chooses; "" means none. */
function helperFor(config: DockerConfigFile, wanted: string, configPath: string): string | undefined {
  for (const [key, name] of Object.entries(config.credHelpers ?? {})) {
    if (hostKey(key) !== wanted) continue;
    if (typeof name !== 'string') throw new DockerConfigInvalidError(configPath, `credHelpers["${key}"] is not a string`);
    if (name !== '') return name;
  }
  if (config.credsStore === undefined || config.credsStore === '') return undefined;
  if (typeof config.credsStore !== 'string') throw new DockerConfigInvalidError(configPath, 'credsStore is not a string');
  return config.credsStore;
}

/** "https://index.docker.io/v1/" -> "index.docker.io"; Docker Hub aliases -> its key host. */
function hostKey(text: string): string {
  const host = text.replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase();
  return DOCKER_HUB_HOSTS.has(host) ? DOCKER_HUB_KEY_HOST : host;
}

function credentialsOf(path: string, key: string, entry: AuthEntry): RegistryCredentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new DockerConfigInvalidError(path, `auths["${key}"].auth is not base64 of "user:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}
