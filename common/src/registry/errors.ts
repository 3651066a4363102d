import { ArchfarmError } from '../errors';

/** Where a failed registry request was going: named in every registry error. */
export interface RegistryTarget {
  registry: string;
  repository?: string;
}

function where(t: RegistryTarget): string {
  return t.repository ? `${t.registry}/${t.repository}` : t.registry;
}

/** The registry could not be reached, or answered 5xx/429: retrying later may help. */
export class RegistryUnavailableError extends ArchfarmError {
  readonly code = 'REGISTRY_UNAVAILABLE';
  readonly kind = 'infrastructure';
  readonly registry: string;
  readonly repository: string | undefined;
  constructor(
    target: RegistryTarget,
    readonly detail: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`registry ${where(target)} is unavailable: ${detail}`, options);
    this.registry = target.registry;
    this.repository = target.repository;
  }
}

/** The registry refused us even after authenticating (or we had nothing to authenticate with). */
export class RegistryAuthError extends ArchfarmError {
  readonly code = 'REGISTRY_AUTH';
  readonly kind = 'input';
  readonly registry: string;
  readonly repository: string | undefined;
  constructor(
    target: RegistryTarget,
    readonly status: number,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `registry ${target.registry} refused access to ${where(target)} (HTTP ${status}: ${detail}); ` +
        `give credentials that may pull and push there: an admin's \`archfarm registry login ${target.registry}\`, ` +
        `or your own \`docker login ${target.registry}\` sent with \`archfarm build --forward-credentials\``,
      options,
    );
    this.registry = target.registry;
    this.repository = target.repository;
  }
}

/** No manifest under that tag or digest (HTTP 404). */
export class ManifestNotFoundError extends ArchfarmError {
  readonly code = 'MANIFEST_NOT_FOUND';
  readonly kind = 'input';
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly reference: string,
    options?: { cause?: unknown },
  ) {
    super(`manifest ${reference} not found in ${registry}/${repository}`, options);
  }
}

/** No blob with that digest (HTTP 404). */
export class BlobNotFoundError extends ArchfarmError {
  readonly code = 'BLOB_NOT_FOUND';
  readonly kind = 'input';
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly digest: string,
    options?: { cause?: unknown },
  ) {
    super(`blob ${digest} not found in ${registry}/${repository}`, options);
  }
}

/** Content did not hash to the digest it was asked or announced by; it may be corrupt in transit. */
export class DigestMismatchError extends ArchfarmError {
  readonly code = 'DIGEST_MISMATCH';
  readonly kind = 'infrastructure';
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly expected: string,
    readonly actual: string,
    what: string,
  ) {
    super(`${what} from ${registry}/${repository} has digest ${actual}, expected ${expected}`);
  }
}

/** A blob or manifest is larger than archfarm is willing to hold in memory. */
export class ContentTooLargeError extends ArchfarmError {
  readonly code = 'CONTENT_TOO_LARGE';
  readonly kind = 'input';
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly digest: string,
    readonly maxBytes: number,
  ) {
    super(`${digest} in ${registry}/${repository} is larger than the ${maxBytes} bytes allowed`);
  }
}

/** One entry of a registry's error body ({"errors":[{code,message,detail}]}). */
export interface RegistryErrorEntry {
  code: string;
  message: string;
}

/** Any other 4xx: the request was wrong for this registry; its own messages are included. */
export class RegistryRequestError extends ArchfarmError {
  readonly code = 'REGISTRY_REQUEST';
  readonly kind = 'input';
  readonly registry: string;
  readonly repository: string | undefined;
  constructor(
    target: RegistryTarget,
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly errors: RegistryErrorEntry[],
  ) {
    const said = errors.length ? errors.map((e) => `${e.code}: ${e.message}`).join('; ') : 'no error body';
    super(`registry ${where(target)} refused ${method} ${path} with HTTP ${status} (${said})`);
    this.registry = target.registry;
    this.repository = target.repository;
  }
}

/** The registry answered something that breaks the distribution spec (e.g. no Location). */
export class RegistryProtocolError extends ArchfarmError {
  readonly code = 'REGISTRY_PROTOCOL';
  readonly kind = 'infrastructure';
  constructor(target: RegistryTarget, readonly detail: string) {
    super(`registry ${where(target)} answered unexpectedly: ${detail}`);
  }
}

/** A Docker config.json exists but cannot be read as one. */
export class DockerConfigInvalidError extends ArchfarmError {
  readonly code = 'DOCKER_CONFIG_INVALID';
  readonly kind = 'input';
  constructor(readonly path: string, detail: string, options?: { cause?: unknown }) {
    super(`Docker config ${path} is not valid: ${detail}`, options);
  }
}

/** A Docker credential helper (`docker-credential-NAME`) is missing, failed, or answered nonsense. */
export class CredentialHelperError extends ArchfarmError {
  readonly code = 'CREDENTIAL_HELPER_FAILED';
  readonly kind = 'input';
  constructor(
    /** The program, e.g. "docker-credential-desktop". */
    readonly program: string,
    /** The config.json that names it. */
    readonly configPath: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${program} (named in ${configPath}) ${detail}`, options);
  }
}

/**
 * A registry's Bearer challenge names a token realm archfarm will not fetch (./realm-policy):
 * plain http for an https registry, a link-local or unspecified address. Names the realm's
 * host, never its path or query (they may carry anything the registry chose).
 */
export class TokenRealmRefusedError extends ArchfarmError {
  readonly code = 'TOKEN_REALM_REFUSED';
  readonly kind = 'input';
  readonly registry: string;
  constructor(
    target: RegistryTarget,
    readonly realmHost: string,
    readonly reason: string,
  ) {
    super(`registry ${where(target)} names the token server ${realmHost}, which archfarm will not ask: ${reason}`);
    this.registry = target.registry;
  }
}
