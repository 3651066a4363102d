import { InvalidInputError } from '@archfarm/common';
import type { SubmitBuildRequest } from '@archfarm/proto';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Largest gRPC message the coordinator's server receives (grpc.max_receive_message_length).
 * The big legitimate messages are context upload chunks (256 KiB) and log chunks (64 KiB);
 * 8 MiB leaves room for those and any SubmitBuild within the limits below, while one
 * oversized message is refused before it is buffered.
 */
export const GRPC_MAX_MESSAGE_BYTES = 8 * MiB;

/** Builds one operator may have queued or running at once, unless configured otherwise. */
export const MAX_PENDING_BUILDS_PER_OPERATOR = 20;

/** Build args (--build-arg) per build. */
export const MAX_BUILD_ARGS = 200;

/** Bytes of all build args together, counted as KEY=VALUE in UTF-8. */
export const MAX_BUILD_ARG_BYTES = 64 * KiB;

/** Agent labels a build may require (--require-label). */
export const MAX_LABELS = 50;

/** Platforms per build (--platform, after splitting comma lists). */
export const MAX_PLATFORMS = 32;

/** Arguments of the smoke-test command (--smoke). */
export const MAX_SMOKE_ARGS = 64;

/** Tags per build (-t). */
export const MAX_TAGS = 64;

/** Image config labels per build (--label), and their bytes as KEY=VALUE. */
export const MAX_IMAGE_LABELS = 200;
export const MAX_IMAGE_LABEL_BYTES = 64 * KiB;

/** Annotations per build (--annotation), and their bytes as KEY=VALUE. */
export const MAX_ANNOTATIONS = 200;
export const MAX_ANNOTATION_BYTES = 64 * KiB;

/** Secrets per build (--secret). */
export const MAX_SECRETS = 64;

/** One secret's value: BuildKit's own limit (500 KiB). */
export const MAX_SECRET_BYTES = 500 * KiB;

/**
 * All of a build's secret values together: they travel in every job message, and an agent
 * receives messages of up to 4 MiB (gRPC's default), with the rest of the job spec beside them.
 */
export const MAX_SECRETS_BYTES = 2 * MiB;

/**
 * Refuses a SubmitBuild request over any of the limits above with an InvalidInputError
 * naming the flag. Only counts and sizes: validateBuild checks the values themselves.
 */
export function checkSubmitLimits(req: SubmitBuildRequest): void {
  const platforms = req.platforms.flatMap((p) => p.split(',')).filter((p) => p.trim() !== '');
  atMost('platform', platforms.length, MAX_PLATFORMS, 'platforms', 'split the build into several');
  const args = Object.entries(req.buildArgs);
  atMost('build-arg', args.length, MAX_BUILD_ARGS, 'build args', 'put the settings in a file in the context and COPY it');
  const argBytes = args.reduce((sum, [key, value]) => sum + Buffer.byteLength(`${key}=${value}`), 0);
  if (argBytes > MAX_BUILD_ARG_BYTES) {
    throw new InvalidInputError('build-arg', `build args add up to ${argBytes} bytes, over the limit of ${MAX_BUILD_ARG_BYTES}; put large values in a file in the context and COPY it`);
  }
  atMost('require-label', Object.keys(req.requireLabels).length, MAX_LABELS, 'required labels', 'require fewer labels');
  atMost('smoke', req.smokeCommand.length, MAX_SMOKE_ARGS, 'smoke command arguments', 'put the command in a script in the image');
  atMost('tag', req.tags.length, MAX_TAGS, 'tags', 'publish under fewer tags');
  const labels = Object.entries(req.labels);
  atMost('label', labels.length, MAX_IMAGE_LABELS, 'labels', 'put fewer labels on the image');
  bytesAtMost('label', labels, MAX_IMAGE_LABEL_BYTES, 'labels');
  atMost('annotation', req.annotations.length, MAX_ANNOTATIONS, 'annotations', 'give fewer annotations');
  bytesAtMost('annotation', req.annotations.map((a) => [a.key, a.value]), MAX_ANNOTATION_BYTES, 'annotations');
  atMost('secret', req.secrets.length, MAX_SECRETS, 'secrets', 'put several values in one secret file');
}

function bytesAtMost(field: string, pairs: ReadonlyArray<readonly [string, string]>, limit: number, what: string): void {
  const bytes = pairs.reduce((sum, [key, value]) => sum + Buffer.byteLength(`${key}=${value}`), 0);
  if (bytes > limit) throw new InvalidInputError(field, `${what} add up to ${bytes} bytes, over the limit of ${limit}`);
}

function atMost(field: string, count: number, limit: number, what: string, fix: string): void {
  if (count > limit) throw new InvalidInputError(field, `${count} ${what}, over the limit of ${limit}; ${fix}`);
}

/**
 * Bytes of a Dockerfile the coordinator analyses for placement (does it cross-compile?). The
 * analysis is linear, but runs on the event loop for every build and `--plan`; a bigger
 * Dockerfile is not analysed and the build counts as not cross-compiling (the safe
 * assumption for placement), which the plan's reasons and the coordinator's log say.
 */
export const MAX_DOCKERFILE_ANALYSIS_BYTES = 256 * KiB;

/**
 * Entries of an uploaded context (files, directories, links). Each costs the scanner a map
 * node and a few walk steps, so 100 000 (a big monorepo's sources with node_modules left in)
 * scan in about a second; past it the upload is refused naming the entry and .dockerignore.
 */
export const MAX_CONTEXT_ENTRIES = 100_000;

/**
 * Watches (WatchBuild, StreamLogs) one token (or agent, or, without TLS, all callers) may hold
 * at once: each holds a stream and a file reader on the coordinator.
 */
export const MAX_WATCHES_PER_TOKEN = 64;

/**
 * Largest piece of a stored log read and sent at once (a watcher never holds more of a log).
 * The issue allows up to 256 KiB; 64 KiB (the agents' upload chunk) kept the coordinator's
 * RSS growth with 20 watchers of a 20 MiB log at ~43 MiB, against ~60 MiB at 256 KiB.
 */
export const LOG_READ_CHUNK_BYTES = 64 * KiB;
