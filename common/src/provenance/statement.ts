import { IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1 } from './constants';
import { StatementInvalidError } from './errors';

/** How a platform was built: on its own CPU, under QEMU, or by a build-platform toolchain. */
export type ProvenanceMode = 'native' | 'emulated' | 'cross-compiled';

/** An in-toto resource descriptor with a sha256 digest (hex, no algorithm prefix). */
export interface ResourceDigest {
  sha256: string;
}

/** The image a statement is about: its pkg:docker purl and manifest digest. */
export interface StatementSubject {
  name: string;
  digest: ResourceDigest;
}

/** Where the build's context came from: an uploaded tar's digest, or a git source. */
export type ProvenanceContext =
  | { digest: string }
  | { git: { url: string; ref: string; subdir: string; commit: string } };

/** What the user asked for (SLSA externalParameters); secrets never appear here. */
export interface ExternalParameters {
  platform: string;
  context?: ProvenanceContext;
  dockerfile: string;
  target: string;
  buildArgs: Record<string, string>;
}

/** The agent that built the platform; unknown fields are "". */
export interface ProvenanceAgent {
  name: string;
  /** "sha256:<hex>" of the agent's client certificate; "" when the farm runs --insecure. */
  certificateFingerprint: string;
  engine: string;
  engineVersion: string;
  /** The CPU as the agent reported it (e.g. "aarch64"). */
  cpu: string;
  kernel: string;
}

/** What only the farm knows (SLSA internalParameters.archfarm). */
export interface ArchfarmParameters {
  mode: ProvenanceMode;
  agent: ProvenanceAgent;
  attempts: number;
}

/** A base image as resolved for one stage. */
export interface ResolvedDependency {
  uri: string;
  digest: ResourceDigest;
  annotations: { stage: string };
}

/** The SLSA provenance v1 predicate of an archfarm build. */
export interface SlsaProvenancePredicate {
  buildDefinition: {
    buildType: string;
    externalParameters: ExternalParameters;
    internalParameters: { archfarm: ArchfarmParameters };
    resolvedDependencies: ResolvedDependency[];
  };
  runDetails: {
    builder: { id: string; version: { archfarm: string } };
    metadata: { invocationId: string; startedOn: string; finishedOn: string };
  };
}

/** An in-toto v1 statement with an SLSA provenance v1 predicate, one per published platform. */
export interface ProvenanceStatement {
  _type: typeof IN_TOTO_STATEMENT_V1;
  subject: StatementSubject[];
  predicateType: typeof SLSA_PROVENANCE_V1;
  predicate: SlsaProvenancePredicate;
}

/** The bytes archfarm stores and signs for a statement (compact JSON, UTF-8). */
export function statementBytes(statement: ProvenanceStatement): Buffer {
  return Buffer.from(JSON.stringify(statement), 'utf8');
}

/**
 * Parses statement bytes and checks the envelope of the format: in-toto v1, SLSA provenance
 * v1, at least one subject with a sha256 digest. The predicate's inner fields are returned
 * as found (a reader checks what it relies on).
 */
export function parseStatement(bytes: Uint8Array): ProvenanceStatement {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new StatementInvalidError('not JSON', { cause: err });
  }
  if (!isRecord(value)) throw new StatementInvalidError('not a JSON object');
  if (value._type !== IN_TOTO_STATEMENT_V1) throw new StatementInvalidError(`_type is ${JSON.stringify(value._type)}, not ${IN_TOTO_STATEMENT_V1}`);
  if (value.predicateType !== SLSA_PROVENANCE_V1) {
    throw new StatementInvalidError(`predicateType is ${JSON.stringify(value.predicateType)}, not ${SLSA_PROVENANCE_V1}`);
  }
  const subjects = value.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) throw new StatementInvalidError('no subject');
  for (const subject of subjects as unknown[]) {
    if (!isRecord(subject) || typeof subject.name !== 'string' || !isRecord(subject.digest) || typeof subject.digest.sha256 !== 'string') {
      throw new StatementInvalidError('a subject has no name or sha256 digest');
    }
  }
  if (!isRecord(value.predicate)) throw new StatementInvalidError('no predicate');
  return value as unknown as ProvenanceStatement;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
