import type { Logger } from '../logger';
import { RegistryAuthError, RegistryProtocolError, RegistryUnavailableError, TokenRealmRefusedError } from './errors';
import { realmRefusalResolved, resolveWithDns, type ResolveHost } from './realm-policy';
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate';

/** A user name and password (or token) for a registry, as `docker login` stores them. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** A bearer token a token server issued for one scope, and when it stops being good. */
export interface ScopedToken {
  token: string;
  scope: string;
  /** Epoch ms, as the token server's expires_in said (or the spec's 60 s default). */
  expiresAt: number;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** What a RegistryAuth authenticates with, besides what the 401 challenges ask for. */
export interface RegistryAuthOptions {
  /** Sent only when the registry asks (Basic), or to its token server. */
  credentials?: RegistryCredentials;
  /**
   * A bearer token someone else fetched (the coordinator, for an agent's one job): sent to the
   * registry as it is, never to a token server; no credentials go with it.
   */
  bearerToken?: string;
  /** The registry is spoken to over plain HTTP: a plain-HTTP realm is allowed (./realm-policy). */
  plainRegistry: boolean;
  userAgent: string;
  logger?: Logger;
  /** How realm host names are resolved for the address check. Default: dns.lookup. */
  resolveHost?: ResolveHost;
}

/** Tokens are refreshed this long before the expiry the token server gave. */
const EXPIRY_MARGIN_MS = 10_000;
/** The distribution token spec's default lifetime when `expires_in` is missing. */
const DEFAULT_TOKEN_SECONDS = 60;

/**
 * The Authorization header a registry wants, learnt from its 401 challenges: Basic with
 * the credentials, or a Bearer token from its token server (distribution's token
 * authentication spec), cached per repository scope. Values never reach a log line, and
 * nothing a token server answers (its body) reaches an error message: only its host and status.
 */
export class RegistryAuth {
  private basic = false;
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly registry: string,
    private readonly options: RegistryAuthOptions,
  ) {}

  /** The header to send up front for this repository, if an earlier challenge taught us one. */
  headerFor(repository: string): string | undefined {
    if (this.options.bearerToken) return `Bearer ${this.options.bearerToken}`;
    if (this.basic) return this.basicHeader();
    const cached = this.tokens.get(scopeOf(repository));
    if (cached && cached.expiresAt > Date.now()) return cached.header;
    return undefined;
  }

  /**
   * Answers a 401: parses its WWW-Authenticate and returns the header to retry with.
   * Throws RegistryAuthError when there is nothing better to send.
   */
  async answer(challengeHeader: string | null, repository: string): Promise<string> {
    const target = { registry: this.registry, repository };
    const challenges = parseWwwAuthenticate(challengeHeader ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (this.options.bearerToken) {
      // The token was sent already and refused: there is nothing else this holder may send.
      throw new RegistryAuthError(target, 401, 'the registry refused the token this job was given');
    }
    if (bearer) return (await this.fetchToken(bearer, repository)).header;
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!this.options.credentials) throw new RegistryAuthError(target, 401, 'basic authentication needed and no credentials given');
      this.basic = true;
      return this.basicHeader();
    }
    // Not quoted: the header is the registry's text, and may be anything.
    throw new RegistryAuthError(target, 401, 'no Basic or Bearer challenge in its WWW-Authenticate');
  }

  /**
   * A token for `repository:NAME:push,pull` from the challenge's token server, with the
   * credentials (if any). What the coordinator hands an agent instead of a password.
   */
  async scopedToken(challengeHeader: string | null, repository: string): Promise<ScopedToken | undefined> {
    const bearer = parseWwwAuthenticate(challengeHeader ?? '').find((c) => c.scheme === 'bearer');
    if (!bearer) return undefined;
    const { header, expiresAt } = await this.fetchToken(bearer, repository);
    return { token: header.slice('Bearer '.length), scope: scopeOf(repository), expiresAt };
  }

  private basicHeader(): string {
    const { username, password } = this.options.credentials!;
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private async realmUrl(challenge: AuthChallenge, repository: string): Promise<URL> {
    const target = { registry: this.registry, repository };
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryProtocolError(target, 'Bearer challenge without a realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryProtocolError(target, 'Bearer challenge with a realm that is not a URL');
    }
    const refusal = await realmRefusalResolved(url, this.options.plainRegistry, this.options.resolveHost ?? resolveWithDns);
    if (refusal) throw new TokenRealmRefusedError(target, url.host, refusal);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', scopeOf(repository));
    return url;
  }

  private async fetchToken(challenge: AuthChallenge, repository: string): Promise<CachedToken> {
    const target = { registry: this.registry, repository };
    const url = await this.realmUrl(challenge, repository);
    const server = `token server ${url.host}`;
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent, accept: 'application/json' };
    if (this.options.credentials) headers.authorization = this.basicHeader();
    let res: Response;
    try {
      // No redirects: a 3xx to another host would dodge the realm checks (and take the credentials along).
      res = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(60_000) });
    } catch (err) {
      throw new RegistryUnavailableError(target, `${server} unreachable`, undefined, { cause: err });
    }
    await this.refuseFailure(res, target, server);
    const body = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown; expires_in?: unknown } | null;
    const token = typeof body?.token === 'string' ? body.token : body?.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryProtocolError(target, `${server} answered without a token`);
    }
    const seconds = typeof body?.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    const scope = scopeOf(repository);
    const cached = { header: `Bearer ${token}`, expiresAt: Date.now() + seconds * 1000 - EXPIRY_MARGIN_MS };
    this.tokens.set(scope, cached);
    this.options.logger?.debug({ registry: this.registry, scope, expiresIn: seconds }, 'registry token obtained');
    return { header: cached.header, expiresAt: Date.now() + seconds * 1000 };
  }

  /** Any answer but 200 is an error naming the server and status; its body is never read. */
  private async refuseFailure(res: Response, target: { registry: string; repository: string }, server: string): Promise<void> {
    if (res.ok) return;
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 401 || res.status === 403) throw new RegistryAuthError(target, res.status, `${server} refused the credentials`);
    if (res.status >= 500 || res.status === 429) throw new RegistryUnavailableError(target, `${server} answered HTTP ${res.status}`, res.status);
    if (res.status >= 300 && res.status < 400) throw new RegistryProtocolError(target, `${server} answered with a redirect (HTTP ${res.status}), which archfarm does not follow`);
    throw new RegistryAuthError(target, res.status, `${server} answered HTTP ${res.status}`);
  }
}

/** One scope per repository, asking for both rights so one token serves writes and reads. */
export function scopeOf(repository: string): string {
  return `repository:${repository}:push,pull`;
}
