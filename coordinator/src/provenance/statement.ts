import {
  ARCHFARM_BUILD_TYPE,
  ARCHFARM_BUILDER_ID_PREFIX,
  ARCHFARM_VERSION,
  IN_TOTO_STATEMENT_V1,
  SLSA_PROVENANCE_V1,
  type ImageRef,
  type Platform,
  type ProvenanceContext,
  type ProvenanceMode,
  type ProvenanceStatement,
  type ResolvedDependency,
} from '@archfarm/common';
import type { ModeName } from '@archfarm/proto';
import type { BaseImageRef, BuildSpec } from '../builds/build';
import type { AgentMachineRecord } from '../store';

/** Everything one platform's statement is made of, as the build's records hold it. */
export interface PlatformProvenanceInput {
  buildId: string;
  /** The coordinator's id (the hex of its signing key's keyid): the builder. */
  coordinatorId: string;
  /** The tag the index is published under (the subject's name). */
  target: ImageRef;
  platform: Platform;
  /** The platform's image manifest in the published index: the subject. */
  manifestDigest: string;
  spec: Pick<BuildSpec, 'contextDigest' | 'git' | 'dockerfile' | 'target' | 'buildArgs' | 'secretIds' | 'crossCompile'>;
  /** The job's succeeded attempt. */
  attempt: {
    agent: string;
    mode: ModeName;
    /** ms; undefined when not recorded. */
    startedAt?: number;
    endedAt?: number;
    /** How many attempts the job took (the succeeded one's number). */
    attempts: number;
    bases: readonly BaseImageRef[];
  };
  /** What the agent's connection told of its engine and machine; undefined when unknown. */
  machine?: AgentMachineRecord;
}

/**
 * The in-toto v1 statement with an SLSA provenance v1 predicate of one published platform
 * (the format: /work/notes/provenance-format.md). Pure: the same records give the same
 * statement. Unknown strings are "", never guessed.
 */
export function provenanceStatement(input: PlatformProvenanceInput): ProvenanceStatement {
  const { spec, attempt, platform, machine } = input;
  const platformQuery = `platform=${encodeURIComponent(platform.toString())}`;
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: `pkg:docker/${input.target.name}@${input.target.tag ?? ''}?${platformQuery}`, digest: { sha256: hexOf(input.manifestDigest) } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: ARCHFARM_BUILD_TYPE,
        externalParameters: {
          platform: platform.toString(),
          context: contextOf(spec),
          dockerfile: spec.dockerfile,
          target: spec.target,
          buildArgs: publicBuildArgs(spec),
        },
        internalParameters: {
          archfarm: {
            mode: modeOf(attempt.mode, spec.crossCompile),
            agent: {
              name: attempt.agent,
              certificateFingerprint: machine?.certificateFingerprint ?? '',
              engine: machine?.engineName ?? '',
              engineVersion: machine?.engineVersion ?? '',
              cpu: machine?.cpu ?? '',
              kernel: machine?.kernel ?? '',
            },
            attempts: attempt.attempts,
          },
        },
        resolvedDependencies: attempt.bases.map((base) => dependency(base, platformQuery)),
      },
      runDetails: {
        builder: { id: `${ARCHFARM_BUILDER_ID_PREFIX}${input.coordinatorId}`, version: { archfarm: ARCHFARM_VERSION } },
        metadata: { invocationId: input.buildId, startedOn: rfc3339(attempt.startedAt), finishedOn: rfc3339(attempt.endedAt) },
      },
    },
  };
}

/**
 * Emulated under a Dockerfile whose heavy stages run on $BUILDPLATFORM is what the farm
 * calls cross-compiled (cross-compile.ts); a native build is native whatever the Dockerfile.
 */
function modeOf(mode: ModeName, crossCompile: boolean): ProvenanceMode {
  if (mode === 'native') return 'native';
  return crossCompile ? 'cross-compiled' : 'emulated';
}

function contextOf(spec: PlatformProvenanceInput['spec']): ProvenanceContext {
  if (spec.git) return { git: { url: spec.git.url, ref: spec.git.ref, subdir: spec.git.subdir, commit: spec.git.commit } };
  return { digest: spec.contextDigest };
}

/** Build args go in as given; one that shares a --secret's id is left out, in case a user passed a secret both ways. */
function publicBuildArgs(spec: PlatformProvenanceInput['spec']): Record<string, string> {
  const secret = new Set(spec.secretIds);
  const names = Object.keys(spec.buildArgs).filter((name) => !secret.has(name)).sort();
  return Object.fromEntries(names.map((name) => [name, spec.buildArgs[name]!]));
}

/** The agent does not say which stage a FROM belongs to, so `stage` is "" (the format: unknown is ""). */
function dependency(base: BaseImageRef, platformQuery: string): ResolvedDependency {
  return { uri: `pkg:docker/${base.ref}?${platformQuery}`, digest: { sha256: hexOf(base.digest) }, annotations: { stage: '' } };
}

function hexOf(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
}

function rfc3339(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString();
}
