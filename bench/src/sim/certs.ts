import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCa, createKeyAndCsr, issueServerCert, signClientCsr, type CertificateAndKey } from '@archfarm/common';

/** A simulated agent's mTLS identity, exactly what enrolment would have given it. */
export interface SimIdentity {
  name: string;
  keyPem: string;
  certPem: string;
}

/** The coordinator's own TLS files (given with --tls-cert/--tls-key/--client-ca) and the agents' identities. */
export interface BenchPki {
  caFile: string;
  certFile: string;
  keyFile: string;
  caPem: string;
  identities: SimIdentity[];
}

/** Issuing thousands of certificates takes a while: they are kept here between runs, outside the repository. */
export const PKI_CACHE = process.env.ARCHFARM_BENCH_PKI ?? '/var/cache/archfarm/bench-pki';
const MAX_AGE_MS = 20 * 24 * 3600_000;
const AGENT_CERT_MS = 30 * 24 * 3600_000;

/**
 * A CA, a coordinator certificate and `count` agent identities named sim-00000... Agents'
 * certificates are made with the calls the coordinator's Enrol makes (a key and CSR made
 * "agent side", then signClientCsr), only without a join-token round trip per agent; the
 * coordinator checks them on every connection like any enrolled agent's (mutual TLS,
 * `--client-ca`, the documented way to run it with certificates of one's own).
 */
export async function benchPki(count: number, onProgress: (done: number) => void = () => {}): Promise<BenchPki> {
  await mkdir(PKI_CACHE, { recursive: true, mode: 0o700 });
  const files = { caFile: join(PKI_CACHE, 'ca.crt'), certFile: join(PKI_CACHE, 'server.crt'), keyFile: join(PKI_CACHE, 'server.key') };
  const stored = await load(files.caFile);
  const ca = stored ?? (await fresh(files));
  const identities = stored?.identities ?? [];
  const pending = Array.from({ length: Math.max(0, count - identities.length) }, (_, i) => simName(identities.length + i));
  // Several at a time: WebCrypto's key and signature work runs on libuv's thread pool.
  const made: SimIdentity[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < pending.length) {
        const name = pending[next++]!;
        const { keyPem, csrPem } = await createKeyAndCsr(name);
        const { certPem } = await signClientCsr(ca, csrPem, { name, validMs: AGENT_CERT_MS });
        made.push({ name, keyPem, certPem });
        if (made.length % 500 === 0) onProgress(identities.length + made.length);
      }
    }),
  );
  if (made.length > 0) {
    const all = [...identities, ...made].sort((a, b) => a.name.localeCompare(b.name));
    await writeAtomic(join(PKI_CACHE, 'agents.json'), JSON.stringify({ createdAt: Date.now(), ca, identities: all }));
    identities.splice(0, identities.length, ...all);
  }
  return { ...files, caPem: ca.certPem, identities: identities.slice(0, count) };
}

export function simName(i: number): string {
  return `sim-${String(i).padStart(5, '0')}`;
}

async function load(caFile: string): Promise<(CertificateAndKey & { identities: SimIdentity[] }) | undefined> {
  try {
    const saved = JSON.parse(await readFile(join(PKI_CACHE, 'agents.json'), 'utf8')) as { createdAt: number; ca: CertificateAndKey; identities: SimIdentity[] };
    if (Date.now() - saved.createdAt > MAX_AGE_MS || (await readFile(caFile, 'utf8')) !== saved.ca.certPem) return undefined;
    return { ...saved.ca, identities: saved.identities };
  } catch {
    return undefined;
  }
}

async function fresh(files: { caFile: string; certFile: string; keyFile: string }): Promise<CertificateAndKey> {
  const ca = await createCa('archfarm bench CA');
  const server = await issueServerCert(ca, { dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  await writeAtomic(files.keyFile, server.keyPem);
  // The chain carries the CA, as the coordinator's own generated chain does.
  await writeAtomic(files.certFile, server.certPem + ca.certPem);
  await writeAtomic(files.caFile, ca.certPem);
  await writeAtomic(join(PKI_CACHE, 'agents.json'), JSON.stringify({ createdAt: Date.now(), ca, identities: [] }));
  return ca;
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
