import { InvalidInputError } from '@archfarm/common';

/** Where the Docker API listens: a unix socket or a plain TCP port (no TLS yet). */
export type DockerHost = { kind: 'unix'; socketPath: string } | { kind: 'tcp'; host: string; port: number };

/** The socket dockerd and Podman's Docker-compatible service use by default. */
export const DEFAULT_DOCKER_HOST: DockerHost = { kind: 'unix', socketPath: '/var/run/docker.sock' };

/**
 * Parses a `--docker-host` value as DOCKER_HOST spells it: `unix:///var/run/docker.sock`,
 * `tcp://10.0.0.5:2375` (port defaults to 2375), or a bare absolute socket path.
 */
export function parseDockerHost(text: string, field = 'docker-host'): DockerHost {
  const value = text.trim();
  if (value.startsWith('/')) return { kind: 'unix', socketPath: value };
  const match = /^([a-z]+):\/\/(.*)$/.exec(value);
  if (!match) {
    throw new InvalidInputError(field, `"${text}" is not a Docker host; write unix:///path or tcp://host:port`);
  }
  const [, scheme, rest = ''] = match;
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw new InvalidInputError(field, `"${text}": a unix socket needs an absolute path`);
    return { kind: 'unix', socketPath: rest };
  }
  if (scheme === 'tcp' || scheme === 'http') return parseTcp(text, rest, field);
  throw new InvalidInputError(field, `"${text}": unsupported scheme "${scheme}"; use unix:// or tcp:// (TLS is not supported yet)`);
}

function parseTcp(text: string, rest: string, field: string): DockerHost {
  let url: URL;
  try {
    url = new URL(`tcp://${rest}`);
  } catch (err) {
    throw new InvalidInputError(field, `"${text}" is not a host:port`, { cause: err });
  }
  if (url.hostname === '' || (url.pathname !== '' && url.pathname !== '/')) {
    throw new InvalidInputError(field, `"${text}": write tcp://host:port, without a path`);
  }
  const port = url.port === '' ? 2375 : Number(url.port);
  // URL keeps the brackets of an IPv6 literal; http.request wants them off.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'tcp', host, port };
}

/** Formats a host back into DOCKER_HOST form, for logs and the engine description. */
export function formatDockerHost(host: DockerHost): string {
  return host.kind === 'unix' ? `unix://${host.socketPath}` : `tcp://${host.host}:${host.port}`;
}
