import { posix } from 'node:path';
import { InvalidInputError, Platform } from '@archfarm/common';
import type { SubmitBuildRequest } from '@archfarm/proto';
import type { BuildSpec } from '../builds/build';
import type { EmulationPolicy } from '../scheduling/placement';
import { validateAnnotations, validateImageLabels, validateSecrets, validateTags } from './validate-build-flags';

const BUILD_ARG = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Checks a SubmitBuild request field by field; the API is an edge too, so the coordinator
 * never trusts that a client validated. Errors name the field and the fix.
 */
export function validateBuild(req: SubmitBuildRequest): BuildSpec {
  const platforms = req.platforms.flatMap((p) => Platform.parseList(p, 'platform'));
  if (platforms.length === 0) throw new InvalidInputError('platform', 'no platform given; e.g. --platform linux/amd64,linux/arm64');
  const tags = validateTags(req.tag, req.tags);
  if (!DIGEST.test(req.contextDigest)) throw new InvalidInputError('context', `"${req.contextDigest}" is not sha256:<64 hex>`);
  return {
    platforms,
    tag: tags[0]!,
    tags,
    contextDigest: req.contextDigest,
    dockerfile: validateDockerfile(req.dockerfile),
    buildArgs: validateBuildArgs(req.buildArgs),
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
  };
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
