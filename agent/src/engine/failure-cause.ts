import type { ErrorKind } from '@archfarm/common';

/**
 * Why a build or push failed, as far as the engine's words and the socket tell. The first five
 * are infrastructure (another attempt, later or elsewhere, may succeed); `registry-denied` is
 * the user's configuration; the rest are the build's own (the Dockerfile or its context).
 */
export type FailureCause =
  | 'registry-unreachable'
  | 'registry-timeout'
  | 'registry-overloaded'
  | 'engine-gone'
  | 'disk-full'
  | 'registry-denied'
  | 'base-image-missing'
  | 'build-step'
  | 'missing-file'
  | 'dockerfile-invalid'
  | 'build-other';

/** What went wrong, in the words the agent got it: the engine's error text, and the socket's errno if there was one. */
export interface Failure {
  text: string;
  /** Node's code of a socket or file error (ECONNRESET, ENOENT, ENOSPC, ...), when the failure was one. */
  errno?: string;
  /** The syscall of that error ('connect' tells a missing socket from a missing file). */
  syscall?: string;
}

/** Where the failure happened: in the engine's build (FROM images, steps), or the agent's push to the target registry. */
export interface FailureContext {
  stage: 'build' | 'push';
  /**
   * Whether the engine still answered after the build failed (undefined: not asked). An engine
   * that stops kills the step it runs, and Podman then reports "exit status 1" like a failing
   * RUN: only asking the engine tells the two apart.
   */
  engineAnswers?: boolean;
}

export interface Classification {
  kind: ErrorKind;
  cause: FailureCause;
  /** The registry (host:port) the text names, for registry causes when it names one. */
  registry?: string;
}

export const KIND_OF: Readonly<Record<FailureCause, ErrorKind>> = {
  'registry-unreachable': 'infrastructure',
  'registry-timeout': 'infrastructure',
  'registry-overloaded': 'infrastructure',
  'engine-gone': 'infrastructure',
  'disk-full': 'infrastructure',
  'registry-denied': 'input',
  'base-image-missing': 'build',
  'build-step': 'build',
  'missing-file': 'build',
  'dockerfile-invalid': 'build',
  'build-other': 'build',
};

/** Socket errors of the agent's own connection to the engine: the engine is not there (any more). */
const ENGINE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const DISK_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A step that ran and exited non-zero, in each engine's words: BuildKit of dockerd 20.10
 * ("executor failed running [...]: exit code: N"), newer BuildKit ("process "..." did not
 * complete successfully: exit code: N"), Podman's buildah ("building at STEP "RUN ...": while
 * running runtime: exit status N"). Matched first and whole: the step's command is quoted in
 * the text and may say anything, "connection refused" included.
 */
const STEP_FAILED = [
  /^executor failed running \[[\s\S]*\]: exit code: \d+\s*$/,
  /^process "[\s\S]*" did not complete successfully: exit code: \d+\s*$/,
  /^building at STEP "RUN [\s\S]*": while running runtime: exit status \d+\s*$/,
];

/** Ordered: the first rule that matches names the cause. */
const RULES: ReadonlyArray<readonly [FailureCause, RegExp]> = [
  ['disk-full', /no space left on device|disk quota exceeded/i],
  // Before the status rules: a 401 is not an overloaded registry.
  ['registry-denied', /\b401 Unauthorized\b|\b403 Forbidden\b|unauthorized: authentication required|\bdenied: |insufficient_scope|failed to authorize/i],
  ['registry-overloaded', /\b429 Too Many Requests\b|too many requests to registry|toomanyrequests|\b5\d\d (?:Internal Server Error|Not Implemented|Bad Gateway|Service Unavailable|Gateway Timeout)\b|invalid status code from registry 5\d\d\b/i],
  ['registry-timeout', /TLS handshake timeout|i\/o timeout|context deadline exceeded|Client\.Timeout exceeded|timeout awaiting response headers/i],
  ['registry-unreachable', /connect: connection refused|connection reset by peer|broken pipe|no such host|network is unreachable|no route to host|unexpected EOF|server misbehaving|httpReadSeeker: failed open/i],
  ['dockerfile-invalid', /dockerfile parse error|unknown instruction|Build error: Unknown instruction/i],
  // COPY/ADD of a path that is not in the context: BuildKit's cache key, buildah's copier.
  ['missing-file', /failed to compute cache key: (?:failed to calculate checksum of ref \S+ )?"[^"]*":? not found|copier: stat: "[^"]*": no such file or directory/i],
  // A FROM image the registry does not have: BuildKit says "REF: not found", Podman "manifest unknown".
  ['base-image-missing', /: not found\s*$|manifest unknown|name unknown|repository does not exist/i],
];

/**
 * Classifies one failure; pure, so every engine text archfarm has seen is a table test
 * (failure-texts.ts). The default for a text no rule knows is the build's own, as before:
 * an unknown text is more often the Dockerfile's than the farm's, and a wrong "build" costs
 * one user's rebuild while a wrong "infrastructure" costs every agent an attempt.
 */
export function classify(failure: Failure, context: FailureContext): Classification {
  const errno = failure.errno ?? '';
  if (DISK_ERRNOS.has(errno)) return of('disk-full');
  if (ENGINE_ERRNOS.has(errno) || (errno === 'ENOENT' && failure.syscall === 'connect')) return of('engine-gone');
  const text = failure.text.trim();
  if (context.engineAnswers === false) return of('engine-gone');
  if (STEP_FAILED.some((re) => re.test(text))) return of('build-step');
  for (const [cause, re] of RULES) {
    if (!re.test(text)) continue;
    const registry = KIND_OF[cause] === 'build' || cause === 'disk-full' ? undefined : registryOf(text);
    return registry === undefined ? of(cause) : { ...of(cause), registry };
  }
  return of('build-other');
}

function of(cause: FailureCause): Classification {
  return { kind: KIND_OF[cause], cause };
}

/** The host:port of the registry request a text quotes ("Head "http://h:p/v2/...", "pulling from host h:p", "pinging container registry h:p"). */
export function registryOf(text: string): string | undefined {
  const found =
    /\b(?:Head|Get|Put|Post|request to) "?https?:\/\/([^/\s"]+)\/v2\//.exec(text) ??
    /pulling from host (\S+?) failed/.exec(text) ??
    /pinging container registry ([^:\s]+(?::\d+)?):/.exec(text) ??
    /initializing source docker:\/\/([^/\s]+)\//.exec(text);
  return found?.[1];
}
