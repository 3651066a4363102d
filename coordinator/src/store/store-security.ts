import type { AgentIdentityStore } from './store-identities';

/*
 * Who may come in and with what: API and join tokens, revoked agents, registry credentials.
 * Part of Store (./store). Tokens are kept only as the sha256 of their text, credentials only
 * as ciphertext sealed by the caller: the store never holds a secret in the clear. The
 * ciphertext is the one field that is bytes (a Buffer) rather than a plain value.
 */

/** `join` enrols an agent; the others are operator roles. */
export type TokenKind = 'join' | 'admin' | 'builder' | 'viewer';

export interface TokenRecord {
  /** A public handle for listing and logs; not derived from the secret. */
  id: string;
  /** sha256 of the token's text, 64 lowercase hex digits. Unique across tokens. */
  hash: string;
  kind: TokenKind;
  createdAt: number;
  /** From this time on (inclusive) the token is refused. Absent: never expires. */
  expiresAt?: number;
  /** How many more enrolments a join token allows. Absent: unlimited. */
  usesLeft?: number;
  /** Labels given to what enrols with it (name -> value). */
  labels: Record<string, string>;
  /** Free text for people ("pi rack 2"); may be empty. */
  description: string;
  /** When an admin revoked it (`archfarm tokens revoke`); from then on it is refused. Absent: not revoked. */
  revokedAt?: number;
}

/** A registry login as stored: the password (or token) only as the caller's ciphertext. */
export interface RegistryCredentialRecord {
  username: string;
  ciphertext: Buffer;
}

/** The security part of Store; its methods follow Store's rules (one transaction each). */
export interface SecurityStore extends AgentIdentityStore {
  /**
   * Stores a new token. A record that breaks TokenRecord's rules is refused
   * (InvalidInputError); a duplicate id or hash is a StoreConflictError. Neither error
   * message contains the hash.
   */
  createToken(record: TokenRecord): Promise<void>;
  /** The token with this hash, of any kind, expired or not; undefined when there is none. */
  findToken(hash: string): Promise<TokenRecord | undefined>;
  /**
   * Spends one use of a join token, check and decrement in one transaction (two agents
   * racing for a token's last use cannot both win). Returns the token after the use.
   * Rejects with TokenUnknownError (no such token, or not a join token), TokenExpiredError
   * (`now` >= expiresAt) or TokenUsedUpError (usesLeft is 0), changing nothing.
   */
  useJoinToken(hash: string, now: number): Promise<TokenRecord>;
  /**
   * Whether an admin token that works at `now` exists (neither expired nor revoked): when
   * none does, the coordinator mints a new first admin token into its data dir at start.
   */
  hasAdminToken(now: number): Promise<boolean>;
  /** Every token, of any kind and state, oldest first (ties by id). */
  listTokens(): Promise<TokenRecord[]>;
  /**
   * Revokes the token with this id (revoking again keeps the first `revokedAt`) and returns
   * it. Rejects with TokenNotFoundError when there is none.
   */
  revokeToken(id: string, now: number): Promise<TokenRecord>;

  /** Inserts or replaces the login for `registry` (e.g. "registry.local:5000"). */
  putRegistryCredential(registry: string, username: string, ciphertext: Buffer, now: number): Promise<void>;
  /** The login for `registry` (a copy of the ciphertext), or undefined. */
  getRegistryCredential(registry: string): Promise<RegistryCredentialRecord | undefined>;
  /** The registries that have a login, by name. */
  listRegistries(): Promise<string[]>;
  /** Forgets the login for `registry`; whether there was one. */
  deleteRegistryCredential(registry: string): Promise<boolean>;
  /**
   * Keeps the credentials one build was submitted with (the CLI's own, sealed by the caller)
   * for that build's life, so a restarted coordinator can resume it. Replaces an earlier one.
   * The build must exist (StoreRecordNotFoundError otherwise).
   */
  putBuildCredential(buildId: string, ciphertext: Buffer): Promise<void>;
  /** The build's sealed credentials (a copy), or undefined. */
  getBuildCredential(buildId: string): Promise<Buffer | undefined>;
  /** Forgets a build's credentials (it ended); nothing happens when there are none. */
  deleteBuildCredential(buildId: string): Promise<void>;
}
