import { join } from 'node:path';
import { createKeyAndCsr } from '@archfarm/common';
import type { Connection } from './connection';
import { authServiceClient } from './coordinator-client';
import { channelCredentials, save, type AgentIdentity } from './enrolment';
import type { SaveFault } from './identity-files';

/**
 * Trades the current certificate (over mutual TLS) for a new one with a new key, saves it,
 * and moves the connection over to it. Short-lived certificates limit what a stolen key is worth.
 */
export async function renewIdentity(connection: Connection, current: AgentIdentity, name: string, stateDir: string, fault?: SaveFault): Promise<AgentIdentity> {
  const { keyPem, csrPem } = await createKeyAndCsr(name);
  const client = authServiceClient(connection.address, channelCredentials(current));
  try {
    const res = await client.renewCertificate({ csrPem });
    const renewed = { keyPem, certPem: res.certificatePem, caPem: current.caPem, notAfter: new Date(res.notAfterMs) };
    await save(join(stateDir, 'tls'), renewed, fault);
    connection.replaceCredentials(channelCredentials(renewed));
    return renewed;
  } finally {
    client.close();
  }
}
