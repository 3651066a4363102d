import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  ANNOTATION_DSSE_PAYLOAD_DIGEST,
  ANNOTATION_PREDICATE_TYPE,
  ANNOTATION_REFERENCE_DIGEST,
  ANNOTATION_REFERENCE_TYPE,
  ARCHFARM_BUILD_TYPE,
  ATTESTATION_MANIFEST,
  ATTESTATION_PLATFORM,
  DSSE_ENVELOPE_MEDIA_TYPE,
  IN_TOTO_MEDIA_TYPE,
  IN_TOTO_STATEMENT_V1,
  MediaType,
  Platform,
  sha256Digest,
  signEnvelope,
  SLSA_PROVENANCE_V1,
  statementBytes,
  type Descriptor,
  type Index,
  type Manifest,
  type ProvenanceMode,
  type ProvenanceStatement,
} from '@archfarm/common';
import type { Fetched, VerifyMaterial } from './verify-material';

/**
 * Registry content for `archfarm verify`'s unit tests, made as the format says
 * (/work/notes/provenance-format.md) and signed with common's signEnvelope: an index with
 * platform manifests and their attestation manifests, and the layers' bytes by digest.
 * Tests change one piece of it to make each failure.
 */
export interface Fixture {
  index: Index;
  manifests: Map<string, Fetched<unknown>>;
  blobs: Map<string, Fetched<Buffer>>;
}

export function testKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

export interface PlatformSpec {
  platform: string;
  mode: ProvenanceMode;
  agent: string;
}

/** A platform manifest's digest that is stable per platform (the manifest itself is never read). */
export function imageDigest(platform: string): string {
  return sha256Digest(Buffer.from(`image of ${platform}`));
}

/** The statement the coordinator writes for one platform. */
export function statementFor(spec: PlatformSpec, digest = imageDigest(spec.platform)): ProvenanceStatement {
  const enc = encodeURIComponent(spec.platform);
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: `pkg:docker/127.0.0.1:5000/app@1?platform=${enc}`, digest: { sha256: digest.slice('sha256:'.length) } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: ARCHFARM_BUILD_TYPE,
        externalParameters: { platform: spec.platform, context: { digest: sha256Digest(Buffer.from('context')) }, dockerfile: 'Dockerfile', target: '', buildArgs: {} },
        internalParameters: {
          archfarm: { mode: spec.mode, agent: { name: spec.agent, certificateFingerprint: '', engine: 'docker', engineVersion: '20.10.24', cpu: 'x86_64', kernel: '6.1' }, attempts: 1 },
        },
        resolvedDependencies: [{ uri: `pkg:docker/127.0.0.1:5000/base@1?platform=${enc}`, digest: { sha256: 'b'.repeat(64) }, annotations: { stage: '0' } }],
      },
      runDetails: {
        builder: { id: 'https://archfarm.dev/coordinator/c1', version: { archfarm: '0.1.0' } },
        metadata: { invocationId: 'b1', startedOn: '2026-12-04T19:00:00Z', finishedOn: '2026-12-04T19:01:00Z' },
      },
    },
  };
}

/** An index of the platforms, each with a signed attestation manifest, in buildx's order. */
export function buildFixture(specs: readonly PlatformSpec[], privateKey: KeyObject): Fixture {
  const fixture: Fixture = { index: { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }, manifests: new Map(), blobs: new Map() };
  const attestations: Descriptor[] = [];
  for (const spec of specs) {
    const p = Platform.parse(spec.platform);
    const digest = imageDigest(spec.platform);
    fixture.index.manifests.push({ mediaType: MediaType.OciManifest, digest, size: 100, platform: { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) } });
    attestations.push(addAttestation(fixture, digest, statementBytes(statementFor(spec)), privateKey));
  }
  fixture.index.manifests.push(...attestations);
  return fixture;
}

/** Stores a signed attestation manifest over `statement` for `subject` and returns its index entry. */
export function addAttestation(fixture: Fixture, subject: string, statement: Buffer, privateKey: KeyObject): Descriptor {
  const envelope = Buffer.from(JSON.stringify(signEnvelope(statement, privateKey)));
  const statementLayer = putBlob(fixture, IN_TOTO_MEDIA_TYPE, statement, { [ANNOTATION_PREDICATE_TYPE]: SLSA_PROVENANCE_V1 });
  const envelopeLayer = putBlob(fixture, DSSE_ENVELOPE_MEDIA_TYPE, envelope, { [ANNOTATION_DSSE_PAYLOAD_DIGEST]: statementLayer.digest });
  return putAttestationManifest(fixture, subject, [statementLayer, envelopeLayer]);
}

/** Stores an attestation manifest of these layers and returns its index entry. */
export function putAttestationManifest(fixture: Fixture, subject: string, layers: Descriptor[]): Descriptor {
  const config = Buffer.from(JSON.stringify({ ...ATTESTATION_PLATFORM, config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: sha256Digest(config), size: config.length }, layers };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256Digest(bytes);
  fixture.manifests.set(digest, { ok: true, value: manifest });
  return {
    mediaType: MediaType.OciManifest,
    digest,
    size: bytes.length,
    platform: { ...ATTESTATION_PLATFORM },
    annotations: { [ANNOTATION_REFERENCE_TYPE]: ATTESTATION_MANIFEST, [ANNOTATION_REFERENCE_DIGEST]: subject },
  };
}

export function putBlob(fixture: Fixture, mediaType: string, bytes: Buffer, annotations: Record<string, string>): Descriptor {
  const digest = sha256Digest(bytes);
  fixture.blobs.set(digest, { ok: true, value: bytes });
  return { mediaType, digest, size: bytes.length, annotations };
}

/** The attestation entry of the index that names `platform`'s manifest. */
export function attestationOf(fixture: Fixture, platform: string): Descriptor {
  const found = fixture.index.manifests.find((m) => m.annotations?.[ANNOTATION_REFERENCE_DIGEST] === imageDigest(platform));
  if (!found) throw new Error(`no attestation for ${platform}`);
  return found;
}

/** The attestation manifest (parsed) an index entry points at. */
export function manifestOf(fixture: Fixture, entry: Descriptor): Manifest {
  const m = fixture.manifests.get(entry.digest);
  if (!m?.ok) throw new Error(`no manifest ${entry.digest}`);
  return m.value as Manifest;
}

export function material(fixture: Fixture): VerifyMaterial {
  return { ref: '127.0.0.1:5000/app:1', indexDigest: sha256Digest(Buffer.from(JSON.stringify(fixture.index))), ...fixture };
}
