import { InvalidInputError } from '../errors';
import { isDigest } from './digest';

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+|\/)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** True for hosts archfarm speaks plain HTTP to by default: they never leave the machine. */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
}

export function repoPath(repository: string): string {
  if (!REPOSITORY.test(repository)) {
    throw new InvalidInputError('repository', `"${repository}" is not a repository name (lowercase path components)`);
  }
  return repository;
}

export function blobPath(repository: string, digest: string): string {
  return `/v2/${repoPath(repository)}/blobs/${digest}`;
}

export function manifestPath(repository: string, reference: string): string {
  return `/v2/${repoPath(repository)}/manifests/${reference}`;
}

export function checkDigest(digest: string): void {
  if (!isDigest(digest)) throw new InvalidInputError('digest', `"${digest}" is not sha256:<64 hex>`);
}

export function checkReference(reference: string): void {
  if (!isDigest(reference) && !TAG.test(reference)) {
    throw new InvalidInputError('reference', `"${reference}" is neither a tag nor a sha256 digest`);
  }
}
