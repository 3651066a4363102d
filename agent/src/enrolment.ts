import { join } from 'node:path';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { caFingerprint, createKeyAndCsr, discoverCa, InvalidInputError, type HostPort, type Logger } from '@archfarm/common';
import { authServiceClient } from './coordinator-client';
import { loadIdentity, saveIdentity, type AgentIdentity, type SaveFault } from './identity-files';

export type { AgentIdentity } from './identity-files';

export interface EnrolOptions {
  coordinator: string;
  /** The same, parsed (compileAgentOptions): where the CA is fetched from. */
  coordinatorAddress: HostPort;
  name: string;
  stateDir: string;
  joinToken?: string;
  caFingerprint?: string;
}

/**
 * Loads the agent's certificate from its state dir, or enrols: pins the coordinator's CA by
 * fingerprint, makes a key pair and CSR here, and trades the join token for a certificate.
 */
export async function ensureEnrolled(opts: EnrolOptions, logger: Logger): Promise<AgentIdentity> {
  const dir = join(opts.stateDir, 'tls');
  const existing = await load(dir);
  if (existing) {
    if (opts.caFingerprint && caFingerprint(existing.caPem) !== opts.caFingerprint) {
      throw new InvalidInputError('--ca-fingerprint', `the state dir holds a certificate from CA ${caFingerprint(existing.caPem)}, not ${opts.caFingerprint}; use another --state-dir to join another coordinator`);
    }
    if (existing.notAfter.getTime() > Date.now()) return existing;
    if (!opts.joinToken) throw new InvalidInputError('--join-token', `the agent's certificate expired on ${existing.notAfter.toISOString()}; enrol again with a new --join-token`);
  }
  if (!opts.joinToken || !opts.caFingerprint) {
    throw new InvalidInputError('--join-token', 'this agent is not enrolled: give --join-token and --ca-fingerprint (an admin gets both from `archfarm tokens create`)');
  }
  const caPem = await discoverCa(opts.coordinatorAddress.hostname, opts.coordinatorAddress.port!, opts.caFingerprint);
  const { keyPem, csrPem } = await createKeyAndCsr(opts.name);
  const client = authServiceClient(opts.coordinator, credentials.createSsl(Buffer.from(caPem)));
  try {
    const res = await client.enrol({ joinToken: opts.joinToken, name: opts.name, csrPem }).catch((err: Error & { details?: string }) => {
      throw enrolError(err);
    });
    const identity = { keyPem, certPem: res.certificatePem, caPem, notAfter: new Date(res.notAfterMs) };
    await save(dir, identity);
    logger.info({ notAfter: identity.notAfter.toISOString() }, 'enrolled with the coordinator');
    return identity;
  } finally {
    client.close();
  }
}

/** mTLS to the coordinator with this identity. */
export function channelCredentials(identity: AgentIdentity): ChannelCredentials {
  return credentials.createSsl(Buffer.from(identity.caPem), Buffer.from(identity.keyPem), Buffer.from(identity.certPem));
}

/** Writes an identity crash-safely (see identity-files.ts). */
export async function save(dir: string, identity: AgentIdentity, fault?: SaveFault): Promise<void> {
  await saveIdentity(dir, identity, fault);
}

async function load(dir: string): Promise<AgentIdentity | undefined> {
  return loadIdentity(dir);
}

function enrolError(err: { details?: string; message: string }): Error {
  return new InvalidInputError('--join-token', `the coordinator refused to enrol this agent: ${err.details ?? err.message}`);
}
