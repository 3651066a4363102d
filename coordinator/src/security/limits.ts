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
}

function atMost(field: string, count: number, limit: number, what: string, fix: string): void {
  if (count > limit) throw new InvalidInputError(field, `${count} ${what}, over the limit of ${limit}; ${fix}`);
}
