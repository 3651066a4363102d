import type Database from 'better-sqlite3';
import type { AgentIdentityRow, RegistryCredentialRow, TokenRow } from './sqlite-security-rows';
import { params } from './sqlite-statements';

type Statement<P extends unknown[] | object, R = unknown> = Database.Statement<P, R>;

const TOKEN_COLUMNS = 'id, hash, kind, created_at, expires_at, uses_left, labels, description, revoked_at';
const IDENTITY_COLUMNS = 'id, name, enrolled_at, token_id, labels, revoked_at, legacy_before';

/** The statements of SqliteStore's security part (./store-security), prepared once. */
export class SqliteSecurityStatements {
  readonly insertToken: Statement<TokenRow>;
  readonly tokenByHash: Statement<[string], TokenRow>;
  readonly setUsesLeft: Statement<[number, string]>;
  readonly hasAdmin: Statement<[number], number>;
  readonly listTokens: Statement<[], TokenRow>;
  readonly tokenById: Statement<[string], TokenRow>;
  readonly revokeToken: Statement<[number, string]>;
  readonly insertIdentity: Statement<AgentIdentityRow>;
  readonly insertCertificate: Statement<[string, string, number]>;
  readonly pruneCertificates: Statement<[string, number]>;
  readonly identityByName: Statement<[string], AgentIdentityRow>;
  readonly identityById: Statement<[string], AgentIdentityRow>;
  readonly identityByCertificate: Statement<[string], AgentIdentityRow>;
  readonly listIdentities: Statement<[], AgentIdentityRow>;
  readonly revokeIdentity: Statement<[number, string]>;
  readonly deleteIdentity: Statement<[string]>;
  readonly deleteAgent: Statement<[string]>;
  readonly deleteCredential: Statement<[string]>;
  readonly putCredential: Statement<RegistryCredentialRow>;
  readonly getCredential: Statement<[string], Pick<RegistryCredentialRow, 'username' | 'secret'>>;
  readonly listRegistries: Statement<[], string>;
  readonly putBuildCredential: Statement<[string, Buffer]>;
  readonly getBuildCredential: Statement<[string], Buffer>;
  readonly deleteBuildCredential: Statement<[string]>;

  constructor(db: Database.Database) {
    this.insertToken = db.prepare<TokenRow>(`INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES (${params(TOKEN_COLUMNS)})`);
    this.tokenByHash = db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ?`);
    this.setUsesLeft = db.prepare<[number, string]>(`UPDATE tokens SET uses_left = ? WHERE id = ?`);
    this.hasAdmin = db
      .prepare<[number], number>(`SELECT EXISTS (SELECT 1 FROM tokens WHERE kind = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?))`)
      .pluck();
    this.listTokens = db.prepare<[], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id`);
    this.tokenById = db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ?`);
    // Revoking again keeps the first time.
    this.revokeToken = db.prepare<[number, string]>(`UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`);

    this.insertIdentity = db.prepare<AgentIdentityRow>(`INSERT INTO agent_identities (${IDENTITY_COLUMNS}) VALUES (${params(IDENTITY_COLUMNS)})`);
    this.insertCertificate = db.prepare<[string, string, number]>(`INSERT INTO agent_certificates (serial, identity_id, not_after) VALUES (?, ?, ?)`);
    this.pruneCertificates = db.prepare<[string, number]>(`DELETE FROM agent_certificates WHERE identity_id = ? AND not_after < ?`);
    this.identityByName = db.prepare<[string], AgentIdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM agent_identities WHERE name = ?`);
    this.identityById = db.prepare<[string], AgentIdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM agent_identities WHERE id = ?`);
    this.identityByCertificate = db.prepare<[string], AgentIdentityRow>(
      `SELECT ${IDENTITY_COLUMNS.split(', ').map((c) => `i.${c}`).join(', ')} FROM agent_certificates c JOIN agent_identities i ON i.id = c.identity_id WHERE c.serial = ?`,
    );
    this.listIdentities = db.prepare<[], AgentIdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM agent_identities ORDER BY name`);
    this.revokeIdentity = db.prepare<[number, string]>(`UPDATE agent_identities SET revoked_at = coalesce(revoked_at, ?) WHERE name = ?`);
    this.deleteIdentity = db.prepare<[string]>(`DELETE FROM agent_identities WHERE name = ?`);
    this.deleteAgent = db.prepare<[string]>(`DELETE FROM agents WHERE name = ?`);

    this.putCredential = db.prepare<RegistryCredentialRow>(
      `INSERT INTO registry_credentials (registry, username, secret, updated_at) VALUES (@registry, @username, @secret, @updated_at)
       ON CONFLICT (registry) DO UPDATE SET username = excluded.username, secret = excluded.secret, updated_at = excluded.updated_at`,
    );
    this.getCredential = db.prepare<[string], Pick<RegistryCredentialRow, 'username' | 'secret'>>(`SELECT username, secret FROM registry_credentials WHERE registry = ?`);
    this.listRegistries = db.prepare<[], string>(`SELECT registry FROM registry_credentials ORDER BY registry`).pluck();
    this.deleteCredential = db.prepare<[string]>(`DELETE FROM registry_credentials WHERE registry = ?`);

    this.putBuildCredential = db.prepare<[string, Buffer]>(
      `INSERT INTO build_credentials (build_id, secret) VALUES (?, ?) ON CONFLICT (build_id) DO UPDATE SET secret = excluded.secret`,
    );
    this.getBuildCredential = db.prepare<[string], Buffer>(`SELECT secret FROM build_credentials WHERE build_id = ?`).pluck();
    this.deleteBuildCredential = db.prepare<[string]>(`DELETE FROM build_credentials WHERE build_id = ?`);
  }
}
