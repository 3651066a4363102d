import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { COORDINATOR_TLS_NAME } from '@archfarm/common';
import { AgentServiceClient, BuildServiceClient } from '@archfarm/proto';
import type { TestFleet } from './fleet';

/** Every coordinator certificate names this host; tests dial 127.0.0.1. */
const OPTIONS = { 'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME, 'grpc.default_authority': COORDINATOR_TLS_NAME };

/** TLS trusting the fleet's CA, with an operator token as call credentials (null: none). */
export function operatorCredentials(fleet: TestFleet, token: string | null = fleet.adminToken): ChannelCredentials {
  const tls = credentials.createSsl(readFileSync(fleet.caFile));
  if (token === null) return tls;
  const bearer = credentials.createFromMetadataGenerator((_params, callback) => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    callback(null, md);
  });
  return credentials.combineChannelCredentials(tls, bearer);
}

/** mTLS with a client key and certificate (an enrolled agent's, or a forged one). */
export function clientCertCredentials(fleet: TestFleet, keyPem: string, certPem: string): ChannelCredentials {
  return credentials.createSsl(readFileSync(fleet.caFile), Buffer.from(keyPem), Buffer.from(certPem));
}

/** The key and certificate an enrolled agent keeps in its state dir. */
export function agentIdentity(fleet: TestFleet, name: string): { keyPem: string; certPem: string } {
  const dir = join(fleet.agentStateDir(name), 'tls');
  return { keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'), certPem: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

export const buildClient = (fleet: TestFleet, creds: ChannelCredentials) => new BuildServiceClient(fleet.address, creds, OPTIONS);
export const agentClient = (fleet: TestFleet, creds: ChannelCredentials) => new AgentServiceClient(fleet.address, creds, OPTIONS);

/** Resolves to the gRPC error of a unary call (or throws when it succeeded). */
export function failure(call: (cb: (err: ServiceError | null) => void) => void): Promise<ServiceError> {
  return new Promise((resolve, reject) => call((err) => (err ? resolve(err) : reject(new Error('the call succeeded but should have been refused')))));
}
