import { isIP } from 'node:net';
import { InvalidInputError } from '../errors';
import { CertificateAndKey, loadCa, requirePositive } from './ca';
import { issueLeaf } from './issue';
import { generateKeyPair, privateKeyPem } from './keys';
import type * as X509 from '@peculiar/x509';
import { DAY_MS, loadX509, pemText } from './x509';

/**
 * The name every coordinator certificate carries. Agents dial whatever IP or host they were
 * given, so clients set `grpc.ssl_target_name_override` to this name instead of checking the
 * address they dialled.
 */
export const COORDINATOR_TLS_NAME = 'archfarm-coordinator';

export interface ServerCertOptions {
  /** Extra DNS names; COORDINATOR_TLS_NAME is always included. Default none. */
  dnsNames?: string[];
  /** IP addresses (v4 or v6) the certificate names. Default none. */
  ips?: string[];
  /** Default 825, the longest lifetime browsers and macOS accept for a server certificate. */
  validDays?: number;
}

/**
 * Issues the coordinator's TLS certificate (serverAuth) with a fresh P-256 key. Serve it with
 * the CA after it (cert chain = certPem + ca.certPem) so agents can discover the CA (discoverCa).
 */
export async function issueServerCert(ca: CertificateAndKey, options: ServerCertOptions = {}): Promise<CertificateAndKey> {
  const { dnsNames = [], ips = [], validDays = 825 } = options;
  requirePositive('validDays', validDays);
  for (const ip of ips) {
    if (isIP(ip) === 0) throw new InvalidInputError('ips', `"${ip}" is not an IP address`);
  }
  for (const name of dnsNames) {
    if (!/^[A-Za-z0-9*]([A-Za-z0-9.-]{0,252})$/.test(name)) throw new InvalidInputError('dnsNames', `"${name}" is not a DNS name`);
  }
  const names: X509.JsonGeneralNames = [
    ...[...new Set([COORDINATOR_TLS_NAME, ...dnsNames])].map((value) => ({ type: 'dns' as const, value })),
    ...ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  const loaded = await loadCa(ca);
  const x509 = await loadX509();
  const keys = await generateKeyPair();
  const cert = await issueLeaf(loaded, {
    commonName: COORDINATOR_TLS_NAME,
    publicKey: keys.publicKey,
    validMs: validDays * DAY_MS,
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  return { certPem: pemText(cert.toString('pem')), keyPem: privateKeyPem(keys.privateKey) };
}
