import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { caFingerprint, createCa, issueServerCert, InvalidInputError } from '@archfarm/common';

/** The coordinator's TLS material: its CA (key only when it signs agent certificates) and server identity. */
export interface TlsMaterial {
  caPem: string;
  caKeyPem: string | undefined;
  certPem: string;
  keyPem: string;
  fingerprint: string;
}

export interface TlsFiles {
  certFile?: string;
  keyFile?: string;
  clientCaFile?: string;
  /** Extra names and addresses for the server certificate. */
  sans: string[];
}

/**
 * On first start, makes a CA and a server certificate in DATA/tls (keys mode 0600); later
 * starts reuse them, so agents' pinned fingerprint stays valid. Given files win.
 */
export async function loadOrCreateTls(dataDir: string, files: TlsFiles, listenHost: string): Promise<TlsMaterial> {
  if (files.certFile || files.keyFile || files.clientCaFile) return given(dataDir, files);
  const dir = join(dataDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = (await readPair(dir, 'ca')) ?? (await writePair(dir, 'ca', await createCa('archfarm coordinator CA')));
  const server =
    (await readPair(dir, 'server')) ??
    (await writePair(dir, 'server', await issueServerCert(ca, { dnsNames: ['localhost', hostname(), ...files.sans.filter((s) => !isIp(s))], ips: ['127.0.0.1', '::1', ...[listenHost, ...files.sans].filter(isIp)] })));
  // The chain carries the CA so an agent can find and pin it by fingerprint when it enrols.
  return { caPem: ca.certPem, caKeyPem: ca.keyPem, certPem: server.certPem + ca.certPem, keyPem: server.keyPem, fingerprint: caFingerprint(ca.certPem) };
}

async function given(dataDir: string, files: TlsFiles): Promise<TlsMaterial> {
  if (!files.certFile || !files.keyFile || !files.clientCaFile) {
    throw new InvalidInputError('--tls-cert', 'give --tls-cert, --tls-key and --client-ca together (or none, and the coordinator makes its own)');
  }
  const caPem = await readFile(files.clientCaFile, 'utf8');
  // Agents can still enrol when the CA's key sits next to the data (DATA/tls/ca.key).
  const caKeyPem = await readFile(join(dataDir, 'tls', 'ca.key'), 'utf8').catch(() => undefined);
  return { caPem, caKeyPem, certPem: await readFile(files.certFile, 'utf8'), keyPem: await readFile(files.keyFile, 'utf8'), fingerprint: caFingerprint(caPem) };
}

async function readPair(dir: string, name: string): Promise<{ certPem: string; keyPem: string } | undefined> {
  try {
    return { certPem: await readFile(join(dir, `${name}.crt`), 'utf8'), keyPem: await readFile(join(dir, `${name}.key`), 'utf8') };
  } catch {
    return undefined;
  }
}

async function writePair(dir: string, name: string, pair: { certPem: string; keyPem: string }): Promise<{ certPem: string; keyPem: string }> {
  await writeFile(join(dir, `${name}.key`), pair.keyPem, { mode: 0o600, flag: 'wx' });
  await chmod(join(dir, `${name}.key`), 0o600);
  await writeFile(join(dir, `${name}.crt`), pair.certPem, { flag: 'wx' });
  return pair;
}

function isIp(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':');
}
