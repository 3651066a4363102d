import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { InvalidInputError, signClientCsr, type Logger } from '@archfarm/common';
import type { AuthServiceServer } from '@archfarm/proto';
import type { Fleet } from '../fleet';
import { identityOf } from '../security/authorizer';
import type { SecretBox } from '../security/secret-box';
import type { TlsMaterial } from '../security/tls-setup';
import { isRole, newToken, tokenHash } from '../security/tokens';
import type { Store } from '../store';
import { checkAgentName, unary } from './unary';

export interface AuthServiceDeps {
  store: Store;
  fleet: Fleet;
  tls: TlsMaterial;
  secrets: SecretBox;
  /** Lifetime of an agent's client certificate; agents renew at two thirds of it. */
  agentCertTtlMs: number;
  logger: Logger;
}

/** Enrolment, certificate renewal, tokens, revocation and registry logins. */
export function authService(deps: AuthServiceDeps): AuthServiceServer {
  return {
    enrol: unary(async (req) => {
      checkAgentName(req.name, 'name');
      const token = await deps.store.useJoinToken(tokenHash(req.joinToken), Date.now());
      if (await deps.store.isRevoked(req.name)) throw new InvalidInputError('name', `agent ${req.name} was revoked; enrol it under a new name`);
      deps.logger.info({ agent: req.name, token: token.id }, 'agent enrolled');
      return issue(deps, req.name, req.csrPem);
    }),
    renewCertificate: unary(async (req, call) => {
      const who = identityOf(call);
      if (who.kind !== 'agent') throw new InvalidInputError('certificate', 'only an agent can renew its certificate');
      return issue(deps, who.name, req.csrPem);
    }),
    createToken: unary(async (req) => {
      if (req.kind !== 'join' && !isRole(req.kind)) throw new InvalidInputError('role', `"${req.kind}" is not join, admin, builder or viewer`);
      const token = newToken(req.kind);
      const now = Date.now();
      const id = randomBytes(6).toString('hex');
      const expiresAt = req.ttlSeconds > 0 ? now + req.ttlSeconds * 1000 : undefined;
      const usesLeft = req.kind === 'join' ? Math.max(1, req.uses) : undefined;
      await deps.store.createToken({ id, hash: tokenHash(token), kind: req.kind, createdAt: now, expiresAt, usesLeft, labels: req.labels, description: req.description });
      deps.logger.info({ tokenId: id, kind: req.kind, expiresAt, usesLeft }, 'token created');
      return { token, id, expiresMs: expiresAt ?? 0 };
    }),
    revokeAgent: unary(async (req) => {
      await deps.store.revokeAgent(req.name, Date.now());
      deps.fleet.get(req.name)?.close(`agent ${req.name} was revoked`);
      deps.logger.warn({ agent: req.name }, 'agent revoked');
      return {};
    }),
    registryLogin: unary(async (req) => {
      if (!req.registry || !req.username) throw new InvalidInputError('registry', 'give a registry host[:port] and a username');
      await deps.store.putRegistryCredential(req.registry, req.username, deps.secrets.seal(req.password), Date.now());
      deps.logger.info({ registry: req.registry, username: req.username }, 'registry credentials stored');
      return {};
    }),
    whoAmI: unary(async (_req, call) => {
      const who = identityOf(call);
      if (who.kind === 'agent') return { role: 'agent', name: who.name };
      if (who.kind === 'operator') return { role: who.role, name: who.tokenId };
      throw Object.assign(new Error('not authenticated'), { code: status.UNAUTHENTICATED });
    }),
  };
}

async function issue(deps: AuthServiceDeps, name: string, csrPem: string) {
  if (!deps.tls.caKeyPem) throw new InvalidInputError('csr', "this coordinator does not hold its CA's key (DATA/tls/ca.key), so it cannot enrol agents");
  const cert = await signClientCsr({ certPem: deps.tls.caPem, keyPem: deps.tls.caKeyPem }, csrPem, { name, validMs: deps.agentCertTtlMs });
  return { certificatePem: cert.certPem, caPem: deps.tls.caPem, notAfterMs: cert.notAfter.getTime() };
}
