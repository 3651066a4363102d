import { ArchfarmError, errorMessage, type Logger } from '@archfarm/common';
import type { BuildAnnotation, Build, Job } from './builds/build';
import { withRetries } from './builds/retry';
import { verifyCrossChecks } from './cross-check/verify';
import { ANNOTATION_AGENT, ANNOTATION_BUILD_ID, ANNOTATION_MODE, publishIndex } from './publish';
import { buildAttestor, type ProvenanceDeps } from './provenance/attest';
import type { RegistryAccess } from './registry-access';

export interface PublishSettings {
  /** Tries of the whole check-and-merge when the registry is unreachable or answers 5xx. */
  attempts: number;
  baseDelayMs: number;
  /** A cancel: the publish stops if no tag was written yet (PublishStoppedError). */
  stop?: AbortSignal;
}

/** The published index, as BuildFinished describes it. */
export interface PublishedIndex {
  digest: string;
  mediaType: string;
  size: number;
}

/**
 * Checks each job's pushed image and writes the index under every tag of the build. The
 * merge is idempotent (the same index bytes for the same images), so a retry after a
 * registry outage, or after a coordinator restart in the middle of it, is safe; within
 * one publish a retry does not write again a tag an earlier try wrote. With `provenance`
 * (and without --provenance=false) each platform's signed statement is pushed and listed
 * too; ECDSA signatures differ each time, so after a restart the index is signed anew and
 * every tag is written again with it.
 */
export async function publishBuild(registries: RegistryAccess, build: Build, jobs: Job[], settings: PublishSettings, logger: Logger, provenance?: ProvenanceDeps): Promise<PublishedIndex> {
  const target = build.spec.tag;
  const images = jobs.map((job) => {
    if (!job.digest) throw new Error(`job ${job.id} (${job.platform}) has no pushed digest`);
    return { platform: job.platform, digest: job.digest, annotations: descriptorAnnotations(build, job) };
  });
  const log = logger.child({ buildId: build.id });
  // --cross-check: the two builds of a platform must agree before any tag is written.
  await verifyCrossChecks(registries.client(target, build.spec.credentials), build, jobs, log);
  const written = new Set<string>();
  const moreTags = build.spec.tags.flatMap((t) => (t.tag && t.toString() !== target.toString() ? [t.tag] : []));
  // Made once for all tries: it remembers its signatures, so a retry writes the same index.
  const attest = provenance && !build.spec.noProvenance ? buildAttestor(provenance, registries.client(target, build.spec.credentials), build, jobs, log) : undefined;
  const publish = () =>
    publishIndex({ client: registries.client(target, build.spec.credentials), target, moreTags, images, annotations: indexAnnotations(build), written, stop: settings.stop, attest, logger: log });
  const result = await withRetries(publish, {
    attempts: settings.attempts,
    baseMs: settings.baseDelayMs,
    retryable: (err) => err instanceof ArchfarmError && err.kind === 'infrastructure',
    onRetry: (err, delayMs) => log.warn({ err: errorMessage(err), delayMs }, 'publish failed, retrying'),
  });
  return { digest: result.digest, mediaType: result.mediaType, size: result.size };
}

/** The index's own annotations: `--annotation index:` and the build id (./publish/farm-annotations). */
export function indexAnnotations(build: Build): Record<string, string> {
  return { ...pick(build.spec.annotations, 'index'), [ANNOTATION_BUILD_ID]: build.id };
}

/** A child's descriptor annotations: `--annotation manifest-descriptor[PLATFORM]:`, the agent and the mode. */
export function descriptorAnnotations(build: Build, job: Job): Record<string, string> {
  const own = pick(build.spec.annotations, 'manifest-descriptor', job);
  return { ...own, ...(job.agent ? { [ANNOTATION_AGENT]: job.agent } : {}), ...(job.mode ? { [ANNOTATION_MODE]: job.mode } : {}) };
}

/**
 * `--annotation manifest[PLATFORM]:` and unprefixed ones, for one platform's manifest: the
 * agent writes them into the manifest it pushes (JobSpec.manifest_annotations).
 */
export function manifestAnnotations(build: Build, job: Job): Record<string, string> {
  return pick(build.spec.annotations, 'manifest', job);
}

/** The annotations of one level; with a job, only those for every platform or for the job's. */
function pick(annotations: readonly BuildAnnotation[], level: BuildAnnotation['level'], job?: Job): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of annotations) {
    if (a.level !== level) continue;
    if (a.platform && !(job && a.platform.equals(job.platform))) continue;
    out[a.key] = a.value;
  }
  return out;
}
