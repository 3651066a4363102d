import { errorMessage, InvalidInputError } from '../errors';
import type { Logger } from '../logger';
import { isDigest, sha256Digest } from './digest';
import {
  BlobNotFoundError,
  ContentTooLargeError,
  DigestMismatchError,
  ManifestNotFoundError,
  RegistryProtocolError,
  RegistryUnavailableError,
} from './errors';
import { MANIFEST_MEDIA_TYPES, MediaType } from './oci';
import { RegistryAuth, type RegistryCredentials, type ScopedToken } from './registry-auth';
import type { ResolveHost } from './realm-policy';
import { blobPath, checkDigest, checkReference, isLoopbackHost, manifestPath, repoPath } from './registry-names';
import { drain, readCapped, RegistryTransport, type RequestBody } from './registry-transport';

/** Options of a {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Plain HTTP instead of HTTPS. Default: true for loopback hosts (localhost, 127.x, [::1]). */
  insecure?: boolean;
  /** Sent only when the registry asks (401). Default: anonymous. */
  credentials?: RegistryCredentials;
  /** A bearer token fetched elsewhere for this client's one repository; see RegistryAuthOptions. */
  bearerToken?: string;
  /** How token realms' host names are resolved for the address check (tests). Default: dns.lookup. */
  resolveHost?: ResolveHost;
  logger?: Logger;
  /** Default: "archfarm". */
  userAgent?: string;
  /** Deadline of each request except streamed uploads. Default: 120 s. */
  timeoutMs?: number;
}

/** A manifest as the registry stored it: its exact bytes, their digest, and the parsed JSON. */
export interface FetchedManifest {
  mediaType: string;
  /** sha256 of `bytes`, checked against the reference when that is a digest. */
  digest: string;
  size: number;
  bytes: Buffer;
  json: unknown;
}

/** Registries must accept manifests of at least 4 MiB (distribution spec); we read no more. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * A client of one registry's OCI distribution API (/v2/): blobs and manifests of any
 * repository in it. Authenticates only when challenged (Basic or Bearer token).
 */
export class RegistryClient {
  private readonly transport: RegistryTransport;
  private readonly auth: RegistryAuth;
  private readonly base: URL;
  private readonly userAgent: string;
  private readonly timeoutMs: number;

  constructor(
    /** host[:port], as in ImageRef.registry. */
    readonly registry: string,
    options: RegistryClientOptions = {},
  ) {
    const insecure = options.insecure ?? isLoopbackHost(registry);
    const userAgent = (this.userAgent = options.userAgent ?? 'archfarm');
    const { credentials, bearerToken, logger, resolveHost } = options;
    const auth = (this.auth = new RegistryAuth(registry, { credentials, bearerToken, plainRegistry: insecure, userAgent, logger, resolveHost }));
    const base = (this.base = new URL(`${insecure ? 'http' : 'https'}://${registry}`));
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.transport = new RegistryTransport(registry, base, auth, userAgent, this.timeoutMs, logger);
  }

  /**
   * How the registry wants a job that pushes to `repository` to authenticate, asked with an
   * anonymous GET /v2/: 'token' with a bearer token for exactly `repository:NAME:push,pull`
   * fetched with this client's credentials (token auth), 'basic' when it wants the
   * credentials themselves, 'open' when it wants nothing.
   */
  async pushAccess(repository: string): Promise<{ kind: 'open' } | { kind: 'basic' } | ({ kind: 'token' } & ScopedToken)> {
    repoPath(repository);
    let res: Response;
    try {
      res = await fetch(new URL('/v2/', this.base), { headers: { 'user-agent': this.userAgent }, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new RegistryUnavailableError({ registry: this.registry, repository }, `GET /v2/ failed: ${errorMessage(err)}`, undefined, { cause: err });
    }
    await drain(res);
    if (res.ok) return { kind: 'open' };
    if (res.status !== 401) throw new RegistryUnavailableError({ registry: this.registry, repository }, `GET /v2/ answered HTTP ${res.status}`, res.status);
    const token = await this.auth.scopedToken(res.headers.get('www-authenticate'), repository);
    return token ? { kind: 'token', ...token } : { kind: 'basic' };
  }

  /** True when the repository holds the blob (HEAD 200), false on 404. */
  async blobExists(repository: string, digest: string): Promise<boolean> {
    checkDigest(digest);
    const res = await this.transport.send({ method: 'HEAD', url: blobPath(repository, digest), repository, accept: [404] });
    await drain(res);
    return res.status !== 404;
  }

  /**
   * Uploads a blob unless the repository already holds it: POST to open an upload, then
   * one monolithic PUT with the digest. Returns true when it uploaded, false when it skipped.
   * A stream is given as a factory because a retry after a 401 needs a fresh one.
   */
  async uploadBlob(repository: string, blob: { digest: string; size: number }, body: RequestBody): Promise<boolean> {
    if (await this.blobExists(repository, blob.digest)) return false;
    const opened = await this.transport.send({ method: 'POST', url: `/v2/${repoPath(repository)}/blobs/uploads/`, repository, headers: { 'content-length': '0' } });
    await drain(opened);
    const location = opened.headers.get('location');
    if (!location) throw new RegistryProtocolError({ registry: this.registry, repository }, 'upload opened without a Location');
    // The Location may be relative and may already carry a query (distribution's _state).
    const href = new URL(location, opened.url || `http://${this.registry}`).href;
    const url = `${href}${href.includes('?') ? '&' : '?'}digest=${encodeURIComponent(blob.digest)}`;
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) };
    const res = await this.transport.send({ method: 'PUT', url, repository, headers, body });
    await drain(res);
    this.checkAnnounced(repository, blob.digest, res, 'uploaded blob');
    return true;
  }

  /** Reads a whole blob (at most maxBytes) and checks it hashes to its digest. */
  async getBlob(repository: string, digest: string, maxBytes: number): Promise<Buffer> {
    checkDigest(digest);
    const res = await this.transport.send({ method: 'GET', url: blobPath(repository, digest), repository, accept: [404] });
    if (res.status === 404) {
      await drain(res);
      throw new BlobNotFoundError(this.registry, repository, digest);
    }
    const bytes = await readCapped(res, maxBytes, () => new ContentTooLargeError(this.registry, repository, digest, maxBytes));
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new DigestMismatchError(this.registry, repository, digest, actual, 'blob');
    return bytes;
  }

  /** Fetches a manifest by tag or digest; `accept` defaults to every manifest and index type. */
  async getManifest(repository: string, reference: string, accept: readonly string[] = MANIFEST_MEDIA_TYPES): Promise<FetchedManifest> {
    checkReference(reference);
    const url = manifestPath(repository, reference);
    const res = await this.transport.send({ method: 'GET', url, repository, headers: { accept: accept.join(', ') }, accept: [404] });
    if (res.status === 404) {
      await drain(res);
      throw new ManifestNotFoundError(this.registry, repository, reference);
    }
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES, () => new ContentTooLargeError(this.registry, repository, reference, MAX_MANIFEST_BYTES));
    const digest = sha256Digest(bytes);
    if (isDigest(reference) && digest !== reference) {
      throw new DigestMismatchError(this.registry, repository, reference, digest, 'manifest');
    }
    this.checkAnnounced(repository, digest, res, 'manifest');
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new RegistryProtocolError({ registry: this.registry, repository }, `manifest ${reference} is not JSON: ${String(err)}`);
    }
    const mediaType = manifestMediaType(json, res.headers.get('content-type'));
    return { mediaType, digest, size: bytes.length, bytes, json };
  }

  /** True when a manifest exists under the tag or digest (HEAD 200), false on 404. */
  async manifestExists(repository: string, reference: string): Promise<boolean> {
    checkReference(reference);
    const headers = { accept: MANIFEST_MEDIA_TYPES.join(', ') };
    const res = await this.transport.send({ method: 'HEAD', url: manifestPath(repository, reference), repository, headers, accept: [404] });
    await drain(res);
    return res.status !== 404;
  }

  /** Stores the exact bytes under a tag or digest; returns their digest (sha256 of `bytes`). */
  async putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    checkReference(reference);
    const digest = sha256Digest(bytes);
    if (isDigest(reference) && reference !== digest) {
      throw new InvalidInputError('reference', `manifest bytes hash to ${digest}, not to the digest ${reference} they are put under`);
    }
    const headers = { 'content-type': mediaType };
    const res = await this.transport.send({ method: 'PUT', url: manifestPath(repository, reference), repository, headers, body: bytes });
    await drain(res);
    this.checkAnnounced(repository, digest, res, 'stored manifest');
    return digest;
  }

  /** A registry's Docker-Content-Digest, when given, must name what we computed. */
  private checkAnnounced(repository: string, digest: string, res: Response, what: string): void {
    const announced = res.headers.get('docker-content-digest');
    if (announced && announced !== digest) {
      throw new DigestMismatchError(this.registry, repository, digest, announced, what);
    }
  }
}

/** The manifest's own mediaType field, else the Content-Type, else what its shape says. */
function manifestMediaType(json: unknown, contentType: string | null): string {
  const own = (json as { mediaType?: unknown } | null)?.mediaType;
  if (typeof own === 'string' && own !== '') return own;
  const header = contentType?.split(';')[0]?.trim();
  if (header && header !== 'application/json' && header !== 'application/octet-stream') return header;
  return Array.isArray((json as { manifests?: unknown } | null)?.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
}
