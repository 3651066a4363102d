import { createHash } from 'node:crypto';
import { MediaType, signEnvelope, statementBytes, type Descriptor, type DsseEnvelope, type Logger, type Platform, type RegistryClient } from '@archfarm/common';
import type { Build, Job } from '../builds/build';
import type { PublishIndexOptions } from '../publish';
import type { AgentMachineRecord, AttemptRecord, Store } from '../store';
import { attestationManifest } from './attestation-manifest';
import { ProvenanceIncompleteError } from './errors';
import type { SigningKey } from './signing-key';
import { provenanceStatement, type PlatformProvenanceInput } from './statement';

/** What the coordinator gives publishing to write provenance. */
export interface ProvenanceDeps {
  key: SigningKey;
  /** The build's attempts and its agents' machines, as stored. */
  store: Pick<Store, 'getBuild' | 'getAgent'>;
}

/** The builder id's tail: the hex of the signing key's keyid, stable for as long as the key. */
export function coordinatorId(key: SigningKey): string {
  return key.keyId.replace(/^sha256:/, '');
}

/**
 * The `attest` step of publishIndex for one publish of a build: per platform image, the
 * statement from the build's records, signed, pushed as an attestation manifest to the
 * target repository. `jobs[i]` is the job of the i-th image. Signatures are remembered per
 * statement for the life of this publish, so a retry PUTs the same index bytes.
 */
export function buildAttestor(deps: ProvenanceDeps, client: RegistryClient, build: Build, jobs: readonly Job[], logger: Logger): NonNullable<PublishIndexOptions['attest']> {
  const signed = new Map<string, DsseEnvelope>();
  const sign = (bytes: Buffer): DsseEnvelope => {
    const key = createHash('sha256').update(bytes).digest('hex');
    let envelope = signed.get(key);
    if (!envelope) signed.set(key, (envelope = signEnvelope(bytes, deps.key.privateKey)));
    return envelope;
  };
  return async (images) => {
    const stored = await deps.store.getBuild(build.id);
    return Promise.all(
      images.map(async (image, i) => {
        const job = jobs[i]!;
        const attempt = stored?.attempts.find((a) => a.jobId === job.id && a.attempt === job.attempt);
        const agent = attempt?.agent ?? job.agent;
        const machine = agent === undefined ? undefined : (await deps.store.getAgent(agent))?.machine;
        const input = statementInput(deps.key, build, job, image, attempt, machine);
        const bytes = statementBytes(provenanceStatement(input));
        const attestation = attestationManifest(image.digest, bytes, sign(bytes));
        const repository = build.spec.tag.repository;
        for (const blob of attestation.blobs) await client.uploadBlob(repository, blob, blob.bytes);
        await client.putManifest(repository, attestation.descriptor.digest, MediaType.OciManifest, attestation.bytes);
        logger.debug({ platform: image.platform.toString(), attestation: attestation.descriptor.digest }, 'pushed provenance attestation');
        return [attestation.descriptor] as readonly Descriptor[];
      }),
    );
  };
}

/** The statement's input from the job and its succeeded attempt as stored; the job's own fields where the store has none. */
function statementInput(
  key: SigningKey,
  build: Build,
  job: Job,
  image: { platform: Platform; digest: string },
  attempt: AttemptRecord | undefined,
  machine: AgentMachineRecord | undefined,
): PlatformProvenanceInput {
  if (!job.platform.equals(image.platform)) throw new ProvenanceIncompleteError(image.platform.toString(), `job (job ${job.id} is ${job.platform.toString()})`);
  const agent = attempt?.agent ?? job.agent;
  const mode = attempt?.mode ?? job.mode;
  if (!agent) throw new ProvenanceIncompleteError(job.platform.toString(), 'agent');
  if (!mode) throw new ProvenanceIncompleteError(job.platform.toString(), 'mode');
  return {
    buildId: build.id,
    coordinatorId: coordinatorId(key),
    target: build.spec.tag,
    platform: job.platform,
    manifestDigest: image.digest,
    spec: build.spec,
    attempt: { agent, mode, startedAt: attempt?.startedAt ?? job.startedAt, endedAt: attempt?.endedAt, attempts: job.attempt, bases: attempt?.bases ?? job.bases ?? [] },
    machine,
  };
}
