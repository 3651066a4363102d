// Node's crypto parses and verifies X.509 (crypto.X509Certificate) but cannot create
// certificates or CSRs, so we use @peculiar/x509 (pure JS, on top of webcrypto) for that.
import { randomBytes, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

let loading: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509, loaded on first use: it takes ~0.3 s to load, which every process importing
 * @archfarm/common (each CLI command) would otherwise pay. Its CommonJS build requires
 * reflect-metadata (tsyringe's decorators need it); we load that first ourselves so it stays
 * true whatever the library's load order becomes.
 */
export function loadX509(): Promise<typeof X509> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto);
    return x509;
  })();
  return loading;
}

export const DAY_MS = 24 * 60 * 60 * 1000;

/** Issued certificates start this far in the past: a Raspberry Pi's clock is often a little behind. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * A 128-bit random serial as upper-case hex, the form Node reports in `serialNumber`.
 * The first byte is 0x40..0x7f: positive in DER, and no leading zero for anyone to strip.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes.writeUInt8((bytes.readUInt8(0) & 0x3f) | 0x40, 0);
  return bytes.toString('hex').toUpperCase();
}

/** notBefore/notAfter for a certificate valid for `validMs` from now, never past `limit`. */
export function validity(validMs: number, limit?: Date): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  const notAfter = new Date(now + validMs);
  return {
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: limit !== undefined && limit < notAfter ? limit : notAfter,
  };
}

/** A subject of just CN=name, built structurally so commas or '=' in a name cannot add fields. */
export function commonNameSubject(name: string): X509.JsonName {
  return [{ CN: [name] }];
}

/** PEM with a final newline, so certificates can be concatenated into a chain as they are. */
export function pemText(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
