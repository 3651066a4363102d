import type { Logger } from '../logger';
import { RegistryAuthError, RegistryProtocolError, RegistryUnavailableError } from './errors';
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate';

/** A user name and password (or token) for a registry, as `docker login` stores them. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** Tokens are refreshed this long before the expiry the token server gave. */
const EXPIRY_MARGIN_MS = 10_000;
/** The distribution token spec's default lifetime when `expires_in` is missing. */
const DEFAULT_TOKEN_SECONDS = 60;

/**
 * The Authorization header a registry wants, learnt from its 401 challenges: Basic with
 * the credentials, or a Bearer token from its token server (distribution's token
 * authentication spec), cached per repository scope. Values never reach a log line.
 */
export class RegistryAuth {
  private basic = false;
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly registry: string,
    private readonly credentials: RegistryCredentials | undefined,
    private readonly userAgent: string,
    private readonly logger: Logger | undefined,
  ) {}

  /** The header to send up front for this repository, if an earlier challenge taught us one. */
  headerFor(repository: string): string | undefined {
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
    if (bearer) return this.fetchToken(bearer, repository);
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!this.credentials) throw new RegistryAuthError(target, 401, 'basic authentication needed and no credentials given');
      this.basic = true;
      return this.basicHeader();
    }
    throw new RegistryAuthError(target, 401, `no usable challenge in WWW-Authenticate "${challengeHeader ?? ''}"`);
  }

  private basicHeader(): string {
    const { username, password } = this.credentials!;
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private async fetchToken(challenge: AuthChallenge, repository: string): Promise<string> {
    const target = { registry: this.registry, repository };
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryProtocolError(target, 'Bearer challenge without a realm');
    const scope = scopeOf(repository);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'application/json' };
    if (this.credentials) headers.authorization = this.basicHeader();
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
    } catch (err) {
      throw new RegistryUnavailableError(target, `token server ${url.origin} unreachable`, undefined, { cause: err });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new RegistryAuthError(target, res.status, `token server ${url.origin} refused the credentials`);
    }
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel();
      throw new RegistryUnavailableError(target, `token server ${url.origin} answered HTTP ${res.status}`, res.status);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new RegistryAuthError(target, res.status, `token server ${url.origin} answered HTTP ${res.status}`);
    }
    const body = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryProtocolError(target, `token server ${url.origin} answered without a token`);
    }
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    const header = `Bearer ${token}`;
    this.tokens.set(scope, { header, expiresAt: Date.now() + seconds * 1000 - EXPIRY_MARGIN_MS });
    this.logger?.debug({ registry: this.registry, scope, expiresIn: seconds }, 'registry token obtained');
    return header;
  }
}

/** One scope per repository, asking for both rights so one token serves reads and writes. */
function scopeOf(repository: string): string {
  return `repository:${repository}:pull,push`;
}
