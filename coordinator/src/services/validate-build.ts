import { posix } from 'node:path';
import { InvalidInputError, Platform, validateGitSource } from '@archfarm/common';
import type { SubmitBuildRequest } from '@archfarm/proto';
import type { BuildSpec } from '../builds/build';
import { validateCrossCheck } from '../cross-check/spec';
import type { FetchedContext } from '../git/git-contexts';
import type { GitSourceRecord } from '../store/store-schedules';
import type { EmulationPolicy } from '../scheduling/placement';
import { validateAnnotations, validateImageLabels, validateSecrets, validateTags } from './validate-build-flags';

const BUILD_ARG = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Checks a SubmitBuild request field by field; the API is an edge too, so the coordinator
 * never trusts that a client validated. Errors name the field and the fix. Pure: a git
 * context is checked but not fetched, so the spec then has `contextDigest` '' and
 * `git.commit` '' until materialiseContext fills both (a schedule validates once at `add`
 * and materialises at each tick).
 */
export function validateBuild(req: SubmitBuildRequest): BuildSpec {
  const platforms = req.platforms.flatMap((p) => Platform.parseList(p, 'platform'));
  if (platforms.length === 0) throw new InvalidInputError('platform', 'no platform given; e.g. --platform linux/amd64,linux/arm64');
  const tags = validateTags(req.tag, req.tags);
  const context = validateContext(req);
  const { crossCheck, buildArgs } = validateCrossCheck(req.crossCheck, platforms, validateBuildArgs(req.buildArgs));
  return {
    platforms,
    tag: tags[0]!,
    tags,
    ...context,
    dockerfile: validateDockerfile(req.dockerfile),
    buildArgs,
    target: req.target.trim(),
    waitTimeoutSeconds: req.waitTimeoutSeconds,
    timeoutSeconds: req.timeoutSeconds,
    allowPartial: req.allowPartial,
    smokeCommand: validateSmoke(req.smokeCommand),
    emulation: validateEmulation(req.emulation),
    requireLabels: validateLabels(req.requireLabels),
    crossCompile: false,
    labels: validateImageLabels(req.labels),
    annotations: validateAnnotations(req.annotations, platforms),
    pull: req.pull,
    noCache: req.noCache,
    secretIds: req.secrets.map((s) => s.id),
    secrets: validateSecrets(req.secrets),
    ...(crossCheck.length > 0 ? { crossCheck } : {}),
    ...(req.noProvenance ? { noProvenance: true } : {}),
  };
}

/** An uploaded context's digest, or a git source: exactly one of the two. */
function validateContext(req: SubmitBuildRequest): Pick<BuildSpec, 'contextDigest' | 'git'> {
  const git = req.git && (req.git.url !== '' || req.git.ref !== '' || req.git.subdir !== '') ? req.git : undefined;
  if (git && req.contextDigest !== '') throw new InvalidInputError('context', 'give either an uploaded context (context_digest) or a git source (git), not both');
  if (git) return { contextDigest: '', git: { ...validateGitSource(git, 'context'), commit: '' } };
  if (req.contextDigest === '') throw new InvalidInputError('context', 'no context given: upload a directory (context_digest) or name a git repository (git), e.g. archfarm build https://host/repo.git#main:dir');
  if (!DIGEST.test(req.contextDigest)) throw new InvalidInputError('context', `"${req.contextDigest}" is not sha256:<64 hex>`);
  return { contextDigest: req.contextDigest };
}

/** What materialiseContext needs of GitContexts. */
export interface GitFetcher {
  fetch(source: GitSourceRecord): Promise<FetchedContext>;
}

/**
 * The effect validateBuild leaves out: a spec with a git source gets the ref fetched now,
 * its tree stored as a context, and the commit recorded (`contextDigest`, `git.commit`).
 * A spec with an uploaded context comes back as it is.
 */
export async function materialiseContext(spec: BuildSpec, git: GitFetcher): Promise<BuildSpec> {
  if (!spec.git) return spec;
  const { url, ref, subdir } = spec.git;
  const fetched = await git.fetch({ url, ref, subdir });
  return { ...spec, contextDigest: fetched.contextDigest, git: { url, ref, subdir, commit: fetched.commit } };
}

function validateDockerfile(path: string): string {
  const file = posix.normalize(path === '' ? 'Dockerfile' : path);
  if (posix.isAbsolute(file) || file === '..' || file.startsWith('../')) {
    throw new InvalidInputError('file', `"${path}" is outside the build context; put the Dockerfile inside the context directory`);
  }
  return file;
}

function validateBuildArgs(args: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(args)) {
    if (!BUILD_ARG.test(key)) throw new InvalidInputError('build-arg', `"${key}" is not a valid name; use KEY=VALUE with KEY made of letters, digits and _`);
  }
  return { ...args };
}

function validateSmoke(argv: string[]): string[] {
  if (argv.length > 0 && argv[0]!.trim() === '') throw new InvalidInputError('smoke', 'the command is empty; e.g. --smoke "uname -m"');
  return [...argv];
}

const POLICIES: readonly EmulationPolicy[] = ['prefer-native', 'deny', 'allow'];

function validateEmulation(value: string): EmulationPolicy {
  if (value === '') return 'prefer-native';
  if (!(POLICIES as readonly string[]).includes(value)) throw new InvalidInputError('emulation', `"${value}" is not one of ${POLICIES.join(', ')}`);
  return value as EmulationPolicy;
}

function validateLabels(labels: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(labels)) {
    if (key.trim() === '') throw new InvalidInputError('require-label', 'a label key is empty; use --require-label KEY=VALUE');
  }
  return { ...labels };
}
