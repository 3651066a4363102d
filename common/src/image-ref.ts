import { InvalidInputError } from './errors';
import { HostPort } from './host-port';

/**
 * A parsed image reference: registry host, repository path, tag and/or digest, with
 * Docker's defaults (docker.io, library/, latest). Parse at the edge with {@link ImageRef.parse}.
 */
export class ImageRef {
  private constructor(
    /** Registry host[:port], e.g. "127.0.0.1:5000" or "registry-1.docker.io". */
    readonly registry: string,
    /** Repository path inside the registry, e.g. "library/alpine". */
    readonly repository: string,
    readonly tag: string | undefined,
    readonly digest: string | undefined,
  ) {}

  static parse(text: string, field = 'tag'): ImageRef {
    const bad = (why: string): never => {
      throw new InvalidInputError(field, `"${text}" is not a valid image reference: ${why}; e.g. registry.example:5000/team/app:1.4`);
    };
    let rest = text.trim();
    if (rest === '') bad('it is empty');
    let digest: string | undefined;
    const at = rest.indexOf('@');
    if (at >= 0) {
      digest = rest.slice(at + 1);
      rest = rest.slice(0, at);
      if (!DIGEST.test(digest)) bad(`digest "${digest}" is not sha256:<64 hex>`);
    }
    let tag: string | undefined;
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
      if (!TAG.test(tag)) bad(`tag "${tag}" may hold only letters, digits, '_', '.', '-' (at most 128, not starting with '.' or '-')`);
    }
    const slash = rest.indexOf('/');
    const first = slash >= 0 ? rest.slice(0, slash) : '';
    const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
    let registry = hasRegistry ? first : DOCKER_HUB;
    let repository = hasRegistry ? rest.slice(slash + 1) : rest;
    if (hasRegistry && !HostPort.tryParse(registry, { portOptional: true })) bad(`registry "${registry}" is not host[:port]`);
    if (registry === 'docker.io' || registry === 'index.docker.io') registry = DOCKER_HUB;
    if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
    if (repository === '') bad('the repository name is missing');
    for (const part of repository.split('/')) {
      if (!COMPONENT.test(part)) {
        bad(`"${part}" must be lowercase letters and digits, separated by '.', '_', '__' or '-'`);
      }
    }
    if (tag === undefined && digest === undefined) tag = 'latest';
    return new ImageRef(registry, repository, tag, digest);
  }

  /** "registry/repository", the name blobs and manifests live under. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** The tag or, when there is none, the digest: what a manifest URL ends in. */
  get reference(): string {
    return this.tag ?? this.digest ?? 'latest';
  }

  withDigest(digest: string): ImageRef {
    return new ImageRef(this.registry, this.repository, undefined, digest);
  }

  withTag(tag: string): ImageRef {
    return new ImageRef(this.registry, this.repository, tag, undefined);
  }

  /** True for a registry on the loopback interface, which is spoken to over plain HTTP. */
  get isLoopback(): boolean {
    const host = this.registry.replace(/:\d+$/, '');
    return host === 'localhost' || /^127\./.test(host) || host === '[::1]';
  }

  toString(): string {
    return `${this.name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

export const DOCKER_HUB = 'registry-1.docker.io';
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
