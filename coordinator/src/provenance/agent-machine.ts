import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { Hello } from '@archfarm/proto';
import type { AgentMachineRecord } from '../store';

/**
 * What provenance records of a connecting agent: its Hello's engine and machine facts, and
 * "sha256:<hex>" of the client certificate the TLS layer verified ("" without one: --insecure).
 */
export function agentMachine(hello: Pick<Hello, 'engineName' | 'engineVersion' | 'cpu' | 'kernel'>, peer: PeerCertificate | undefined): AgentMachineRecord {
  // Node gives {} for "no certificate", whatever the type says.
  const raw = peer?.raw as Buffer | undefined;
  return {
    certificateFingerprint: raw ? `sha256:${createHash('sha256').update(raw).digest('hex')}` : '',
    engineName: hello.engineName ?? '',
    engineVersion: hello.engineVersion ?? '',
    cpu: hello.cpu ?? '',
    kernel: hello.kernel ?? '',
  };
}
