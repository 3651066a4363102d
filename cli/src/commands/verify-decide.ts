import type { KeyObject } from 'node:crypto';
import { ANNOTATION_REFERENCE_DIGEST, keyId, Platform, type Descriptor } from '@archfarm/common';
import { checkAttestation, isSigned, manifestLayers } from './verify-attestation';
import { claimsOf } from './verify-claims';
import { isAttestationEntry, type VerifyMaterial } from './verify-material';
import type { PlatformVerdictJson, Problem, VerifyReportJson } from './verify-report';

/** What `archfarm verify` was asked to hold REF to. */
export interface VerifyPolicy {
  /** The coordinator's public key (EC P-256). */
  key: KeyObject;
  /** Platforms that must have been built natively (--require-native). */
  requireNative: readonly Platform[];
}

/**
 * The verdict on REF: per platform manifest of its index, whether a signed attestation names
 * it and checks out against the key, what it says (agent, mode, bases, context), and each
 * --require-native held. Pure: a function of what was fetched and the policy.
 */
export function decideVerify(material: VerifyMaterial, policy: VerifyPolicy): VerifyReportJson {
  const entries = material.index.manifests;
  const attestations = entries.filter(isAttestationEntry);
  const platforms = entries.filter((e) => !isAttestationEntry(e)).map((e) => platformVerdict(e, attestations, material, policy.key));
  const problems: Problem[] = [];
  for (const required of policy.requireNative) {
    const verdict = platforms.find((p) => p.platform === required.toString());
    if (verdict) verdict.problems.push(...nativeProblems(required, verdict));
    else problems.push({ code: 'PLATFORM_MISSING', message: `--require-native ${required.toString()}: ${material.ref} has no ${required.toString()} image` });
  }
  const verified = problems.length === 0 && platforms.every((p) => p.problems.length === 0);
  return { ref: material.ref, digest: material.indexDigest, keyid: keyId(policy.key), verified, platforms, problems };
}

function platformVerdict(entry: Descriptor, attestations: readonly Descriptor[], material: VerifyMaterial, key: KeyObject): PlatformVerdictJson {
  const platform = entryPlatform(entry);
  const verdict: PlatformVerdictJson = {
    platform: platform?.toString() ?? platformText(entry),
    digest: entry.digest,
    attestation: null,
    agent: null,
    mode: null,
    bases: [],
    context: null,
    verified: false,
    problems: [],
  };
  let signed = 0;
  for (const attestation of attestations.filter((a) => a.annotations?.[ANNOTATION_REFERENCE_DIGEST] === entry.digest)) {
    const fetched = material.manifests.get(attestation.digest);
    const where = `attestation ${attestation.digest}`;
    if (!fetched?.ok) {
      verdict.problems.push({ code: 'ATTESTATION_UNREADABLE', message: `${where}: ${fetched?.reason ?? 'not fetched'}` });
      continue;
    }
    const layers = manifestLayers(fetched.value);
    if (!layers) {
      verdict.problems.push({ code: 'ATTESTATION_MALFORMED', message: `${where}: not an image manifest with layers` });
      continue;
    }
    // buildx's own attestations (kept from a child index) carry no envelope; they prove nothing here.
    if (!isSigned(layers)) continue;
    signed += 1;
    const check = checkAttestation(layers, material.blobs, key, { digest: entry.digest, platform });
    if (!check.ok) {
      verdict.problems.push({ code: check.problem.code, message: `${where}: ${check.problem.message}` });
    } else if (verdict.attestation === null) {
      Object.assign(verdict, claimsOf(check.statement), { attestation: attestation.digest });
    }
  }
  if (signed === 0 && verdict.problems.length === 0) verdict.problems.push({ code: 'SIGNATURE_MISSING', message: `no signed attestation names the manifest ${entry.digest}` });
  // Every signed attestation of the platform must verify: one bad among good ones is still tampering.
  verdict.verified = verdict.problems.length === 0;
  if (!verdict.verified) Object.assign(verdict, { attestation: null, agent: null, mode: null, bases: [], context: null });
  return verdict;
}

function nativeProblems(required: Platform, verdict: PlatformVerdictJson): Problem[] {
  const flag = `--require-native ${required.toString()}`;
  if (!verdict.verified) return [{ code: 'NOT_NATIVE', message: `${flag}: not proven native, its attestation did not verify` }];
  if (verdict.mode === 'native') return [];
  return [{ code: 'NOT_NATIVE', message: `${flag}: built ${verdict.mode || 'in an unrecorded mode'}${verdict.agent ? ` by agent ${verdict.agent}` : ''}, not natively` }];
}

/** The index entry's platform in normal form; undefined when it names none archfarm knows. */
function entryPlatform(entry: Descriptor): Platform | undefined {
  if (!entry.platform) return undefined;
  try {
    return Platform.of(entry.platform.os, entry.platform.architecture, entry.platform.variant);
  } catch {
    return undefined;
  }
}

function platformText(entry: Descriptor): string {
  const p = entry.platform;
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown';
}
