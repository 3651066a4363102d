import type Database from 'better-sqlite3';
import type { RegistryCredentialRow, RevokedAgentRow, TokenRow } from './sqlite-security-rows';
import { params } from './sqlite-statements';

type Statement<P extends unknown[] | object, R = unknown> = Database.Statement<P, R>;

const TOKEN_COLUMNS = 'id, hash, kind, created_at, expires_at, uses_left, labels, description';

/** The statements of SqliteStore's security part (./store-security), prepared once. */
export class SqliteSecurityStatements {
  readonly insertToken: Statement<TokenRow>;
  readonly tokenByHash: Statement<[string], TokenRow>;
  readonly setUsesLeft: Statement<[number, string]>;
  readonly hasAdmin: Statement<[], number>;
  readonly revokeAgent: Statement<[string, number]>;
  readonly isRevoked: Statement<[string], number>;
  readonly listRevoked: Statement<[], RevokedAgentRow>;
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
    this.hasAdmin = db.prepare<[], number>(`SELECT EXISTS (SELECT 1 FROM tokens WHERE kind = 'admin')`).pluck();

    // Revoking again keeps the first time.
    this.revokeAgent = db.prepare<[string, number]>(`INSERT INTO revoked_agents (name, revoked_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`);
    this.isRevoked = db.prepare<[string], number>(`SELECT EXISTS (SELECT 1 FROM revoked_agents WHERE name = ?)`).pluck();
    this.listRevoked = db.prepare<[], RevokedAgentRow>(`SELECT name, revoked_at FROM revoked_agents ORDER BY name`);

    this.putCredential = db.prepare<RegistryCredentialRow>(
      `INSERT INTO registry_credentials (registry, username, secret, updated_at) VALUES (@registry, @username, @secret, @updated_at)
       ON CONFLICT (registry) DO UPDATE SET username = excluded.username, secret = excluded.secret, updated_at = excluded.updated_at`,
    );
    this.getCredential = db.prepare<[string], Pick<RegistryCredentialRow, 'username' | 'secret'>>(`SELECT username, secret FROM registry_credentials WHERE registry = ?`);
    this.listRegistries = db.prepare<[], string>(`SELECT registry FROM registry_credentials ORDER BY registry`).pluck();

    this.putBuildCredential = db.prepare<[string, Buffer]>(
      `INSERT INTO build_credentials (build_id, secret) VALUES (?, ?) ON CONFLICT (build_id) DO UPDATE SET secret = excluded.secret`,
    );
    this.getBuildCredential = db.prepare<[string], Buffer>(`SELECT secret FROM build_credentials WHERE build_id = ?`).pluck();
    this.deleteBuildCredential = db.prepare<[string]>(`DELETE FROM build_credentials WHERE build_id = ?`);
  }
}
