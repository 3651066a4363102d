import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { Logger } from '../logger';
import {
  RegistryAuthError,
  RegistryRequestError,
  RegistryUnavailableError,
  type RegistryErrorEntry,
} from './errors';
import type { RegistryAuth } from './registry-auth';

/** What a request sends: bytes, or a factory for a fresh stream (a retry after a 401 needs one). */
export type RequestBody = Buffer | (() => Readable);

/** One request to the registry's /v2/ API. */
export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path under the registry ("/v2/...") or an absolute URL it gave us (upload Location). */
  url: string;
  repository: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Statuses the caller handles itself; any other non-2xx status is thrown as an error. */
  accept?: number[];
}

/**
 * Requests to one registry (by origin) that this process has waiting for a response at once.
 * fetch's pool opens a connection for every request it cannot put on an idle one: a
 * coordinator checking and publishing a hundred builds at once opened thousands of sockets
 * to one registry (and the pool looked through all of them for every request). 64 keeps
 * a local registry as busy as it gets (measured: 16 gave 10% less) with a bounded pool.
 * Streamed uploads are not counted: they are few, and long.
 */
const REQUESTS_PER_REGISTRY = 64;
const limits = new Map<string, pLimit.Limit>();

function limitFor(origin: string): pLimit.Limit {
  let limit = limits.get(origin);
  if (!limit) limits.set(origin, (limit = pLimit(REQUESTS_PER_REGISTRY)));
  return limit;
}

/**
 * Sends requests to one registry: anonymous first, then once more with what a 401
 * challenge asks for; turns network failures, 5xx, 401/403 and other 4xx into typed errors.
 */
export class RegistryTransport {
  constructor(
    readonly registry: string,
    readonly baseUrl: URL,
    private readonly auth: RegistryAuth,
    private readonly userAgent: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger | undefined,
  ) {}

  /** Sends the request and returns the response (its body unread) or throws a registry error. */
  async send(req: RegistryRequest): Promise<Response> {
    const url = new URL(req.url, this.baseUrl);
    // Credentials go only to the registry itself, never to a storage host it redirects to.
    const ours = url.origin === this.baseUrl.origin;
    let res = await this.once(req, url, ours ? this.auth.headerFor(req.repository) : undefined);
    if (res.status === 401 && ours) {
      const challenge = res.headers.get('www-authenticate');
      await drain(res);
      res = await this.once(req, url, await this.auth.answer(challenge, req.repository));
    }
    if (req.accept?.includes(res.status) || (res.status >= 200 && res.status < 300)) return res;
    throw await this.failure(req, url, res);
  }

  private async once(req: RegistryRequest, url: URL, authorization: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
    if (authorization) headers.authorization = authorization;
    const stream = typeof req.body === 'function' ? req.body() : undefined;
    const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers };
    if (stream) {
      // fetch takes any async iterable as a body once duplex is 'half' (Node's undici).
      init.body = stream as unknown as RequestInit['body'];
      init.duplex = 'half';
    } else if (req.body !== undefined) {
      init.body = req.body as Buffer;
    }
    // A streamed upload of a big layer may take long; everything else has a deadline.
    if (!stream) init.signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = stream ? await fetch(url, init) : await limitFor(url.origin)(() => fetch(url, init));
      this.logger?.debug({ registry: this.registry, method: req.method, path: url.pathname, status: res.status }, 'registry request');
      // A refused upload may leave its source half read (an open file): close it.
      if (!res.ok) stream?.destroy();
      return res;
    } catch (err) {
      stream?.destroy();
      const target = { registry: this.registry, repository: req.repository };
      throw new RegistryUnavailableError(target, `${req.method} ${url.pathname} failed: ${describe(err)}`, undefined, { cause: err });
    }
  }

  private async failure(req: RegistryRequest, url: URL, res: Response): Promise<Error> {
    const target = { registry: this.registry, repository: req.repository };
    const entries = req.method === 'HEAD' ? [] : await errorEntries(res);
    const said = entries.map((e) => e.message).join('; ');
    if (res.status === 401 || res.status === 403) {
      return new RegistryAuthError(target, res.status, said || (res.status === 401 ? 'unauthorized' : 'denied'));
    }
    if (res.status >= 500 || res.status === 429) {
      return new RegistryUnavailableError(target, `${req.method} ${url.pathname} answered HTTP ${res.status}${said ? `: ${said}` : ''}`, res.status);
    }
    return new RegistryRequestError(target, req.method, url.pathname, res.status, entries);
  }
}

/** Reads a registry error body ({"errors":[{code,message}]}); anything else gives []. */
export async function errorEntries(res: Response): Promise<RegistryErrorEntry[]> {
  try {
    const body = (await res.json()) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    if (!Array.isArray(body.errors)) return [];
    return body.errors.map((e) => ({ code: String(e.code ?? 'UNKNOWN'), message: String(e.message ?? '') }));
  } catch {
    return [];
  }
}

/** Discards a body we will not read, so the connection can be reused. */
export async function drain(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

/** undici wraps socket errors ("fetch failed"); the cause says what really happened. */
function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown }).code;
  const text = cause instanceof Error ? cause.message : String(cause);
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
}

/** Reads a body into memory, refusing (and aborting) once it passes maxBytes. */
export async function readCapped(res: Response, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await drain(res);
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      total += chunk.length;
      // Throwing inside for-await cancels the body stream.
      if (total > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks);
}
