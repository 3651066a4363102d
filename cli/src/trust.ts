import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InvalidInputError, caFingerprint, errorMessage, parseCaFingerprint } from '@archfarm/common';

/**
 * How the CLI knows it talks to the real coordinator: a CA certificate it has, a CA
 * fingerprint to fetch and pin the CA by (at connect time), or nothing (--insecure, dev mode).
 */
export type Trust =
  | { kind: 'ca'; caPem: string; source: string }
  | { kind: 'fingerprint'; fingerprint: string; field: string }
  | { kind: 'insecure'; field: string };

/** One layer's say on trust: the flags, or the environment. Field names are for messages. */
export interface TrustLayer {
  insecure: boolean;
  caFile: string | undefined;
  fingerprint: string | undefined;
  names: { insecure: string; caFile: string; fingerprint: string };
}

/**
 * The first layer that says anything decides (flags over environment); inside a layer,
 * --insecure with a CA is a contradiction, and a CA file with a fingerprint must match it.
 * Undefined when no layer says anything.
 */
export function trustFromLayers(layers: readonly TrustLayer[]): Trust | undefined {
  for (const layer of layers) {
    const { insecure, caFile, fingerprint, names } = layer;
    if (!insecure && caFile === undefined && fingerprint === undefined) continue;
    if (insecure && (caFile !== undefined || fingerprint !== undefined)) {
      const other = caFile !== undefined ? names.caFile : names.fingerprint;
      throw new InvalidInputError(names.insecure, `turns TLS off, so ${other} means nothing; give one of them`);
    }
    if (insecure) return { kind: 'insecure', field: names.insecure };
    const pinned = fingerprint === undefined ? undefined : parseFingerprint(fingerprint, names.fingerprint);
    if (caFile === undefined) return { kind: 'fingerprint', fingerprint: pinned!, field: names.fingerprint };
    const caPem = readCaFile(caFile, names.caFile);
    if (pinned !== undefined && caFingerprint(caPem) !== pinned) {
      throw new InvalidInputError(names.fingerprint, `${pinned} is not the fingerprint of the CA in ${caFile} (${caFingerprint(caPem)})`);
    }
    return { kind: 'ca', caPem, source: caFile };
  }
  return undefined;
}

/** A `sha256:<64 hex>` CA fingerprint, as the coordinator prints it; lower-cased. */
export function parseFingerprint(text: string, field: string): string {
  try {
    return parseCaFingerprint(text);
  } catch {
    throw new InvalidInputError(field, `"${text}" is not a CA fingerprint; give sha256:<64 hex digits> as the coordinator printed it at its first start`);
  }
}

function readCaFile(file: string, field: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError(field, `cannot read "${file}": ${errorMessage(err)}`, { cause: err });
  }
  if (!isCertificatePem(pem)) throw new InvalidInputError(field, `"${file}" does not hold a PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return pem;
}

/** True when `pem` starts with a certificate Node can parse. */
export function isCertificatePem(pem: string): boolean {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) return false;
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}
