import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DockerConfigInvalidError } from './errors';
import type { RegistryCredentials } from './registry-auth';

/** The key `docker login` uses for Docker Hub, whatever host name the image used. */
const DOCKER_HUB_KEY_HOST = 'index.docker.io';
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

/**
 * The credentials `docker login` stored for a registry in a Docker config.json
 * (`auths[host].auth` = base64 "user:pass", or username/password fields), or undefined
 * when the file or an entry for that host is missing. Credential helpers (credsStore,
 * credHelpers) are not run: archfarm's coordinator gets registry credentials in files.
 * Keys are matched by host name as Docker does ("https://host/v1/" names "host"), and
 * Docker Hub's host names all map to its "https://index.docker.io/v1/" key.
 * Synchronous: the file is small and read when a client is made, which is synchronous.
 */
export function loadDockerCredentials(registry: string, configPath = defaultDockerConfigPath()): RegistryCredentials | undefined {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DockerConfigInvalidError(configPath, `cannot read it: ${String(err)}`, { cause: err });
  }
  let config: { auths?: Record<string, AuthEntry> };
  try {
    config = JSON.parse(text) as typeof config;
  } catch (err) {
    throw new DockerConfigInvalidError(configPath, 'it is not JSON', { cause: err });
  }
  const wanted = hostKey(registry);
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (hostKey(key) === wanted) return credentialsOf(configPath, key, entry);
  }
  return undefined;
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
