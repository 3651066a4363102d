import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { InvalidInputError, signClientCsr, type Logger } from '@archfarm/common';
import type { AuthServiceServer } from '@archfarm/proto';
import { AgentNotFoundError } from '../errors';
import type { Fleet } from '../fleet';
import { identityOf } from '../security/authorizer';
import type { SecretBox } from '../security/secret-box';
import type { TlsMaterial } from '../security/tls-setup';
import { tokenHash } from '../security/tokens';
import { AgentNameTakenError, StoreRecordNotFoundError, redeemJoinToken, type Store } from '../store';
import { tokenHandlers } from './auth-tokens';
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

/** Enrolment, certificate renewal, revocation, tokens and registry logins. */
export function authService(deps: AuthServiceDeps): AuthServiceServer {
  return {
    enrol: unary(async (req) => enrol(deps, req)),
    renewCertificate: unary(async (req, call) => {
      const who = identityOf(call);
      if (who.kind !== 'agent') throw new InvalidInputError('certificate', 'only an agent can renew its certificate');
      const cert = await issue(deps, who.name, req.csrPem);
      await deps.store.addAgentCertificate(who.identityId, { serial: cert.serial, notAfter: cert.notAfter.getTime() }, Date.now());
      return answer(deps, cert);
    }),
    revokeAgent: unary(async (req) => {
      const identity = await deps.store.revokeAgent(checkAgentName(req.name, 'name'), Date.now()).catch(notFound(req.name));
      deps.fleet.get(req.name)?.close(`agent ${req.name} was revoked`);
      deps.logger.warn({ agent: req.name, identity: identity.id }, 'agent revoked');
      return {};
    }),
    forgetAgent: unary(async (req) => {
      const name = checkAgentName(req.name, 'name');
      if (!(await deps.store.forgetAgent(name))) throw new AgentNotFoundError(name);
      deps.fleet.get(name)?.close(`agent ${name} was forgotten`);
      deps.logger.warn({ agent: name }, 'agent forgotten: its name is free, its certificates are refused');
      return {};
    }),
    ...tokenHandlers(deps),
    whoAmI: unary(async (_req, call) => {
      const who = identityOf(call);
      if (who.kind === 'agent') return { role: 'agent', name: who.name };
      if (who.kind === 'operator') return { role: who.role, name: who.tokenId };
      throw Object.assign(new Error('not authenticated'), { code: status.UNAUTHENTICATED });
    }),
  };
}

/**
 * Nothing is spent until everything is checked: the name's form, the token (without using
 * it), that the name is free, the CSR (by signing it). Then one store transaction spends the
 * token and records the enrolment with its certificate, or refuses (a race for the name or the
 * token's last use) and the signed certificate is dropped unseen.
 */
async function enrol(deps: AuthServiceDeps, req: { joinToken: string; name: string; csrPem: string }) {
  const name = checkAgentName(req.name, 'name');
  const hash = tokenHash(req.joinToken);
  const now = Date.now();
  const token = redeemJoinToken(await deps.store.findToken(hash), now);
  const taken = await deps.store.agentIdentityByName(name);
  if (taken) throw new AgentNameTakenError(name, taken.revokedAt !== undefined);
  const cert = await issue(deps, name, req.csrPem);
  const identity = { id: randomBytes(8).toString('hex'), name, enrolledAt: now, tokenId: token.id, labels: token.labels };
  await deps.store.enrolAgent(identity, { serial: cert.serial, notAfter: cert.notAfter.getTime() }, hash, now);
  deps.logger.info({ agent: name, identity: identity.id, token: token.id, labels: token.labels }, 'agent enrolled');
  return answer(deps, cert);
}

async function issue(deps: AuthServiceDeps, name: string, csrPem: string) {
  if (!deps.tls.caKeyPem) throw new InvalidInputError('csr', "this coordinator does not hold its CA's key (DATA/tls/ca.key), so it cannot enrol agents");
  return signClientCsr({ certPem: deps.tls.caPem, keyPem: deps.tls.caKeyPem }, csrPem, { name, validMs: deps.agentCertTtlMs });
}

function answer(deps: AuthServiceDeps, cert: { certPem: string; notAfter: Date }) {
  return { certificatePem: cert.certPem, caPem: deps.tls.caPem, notAfterMs: cert.notAfter.getTime() };
}

function notFound(name: string) {
  return (err: unknown): never => {
    throw err instanceof StoreRecordNotFoundError ? new AgentNotFoundError(name) : err;
  };
}
