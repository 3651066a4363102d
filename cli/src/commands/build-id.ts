import { InvalidInputError } from '@archfarm/common';
import type { BuildDetails } from '@archfarm/proto';
import type { BuildCalls } from '../client';
import { BuildNotFoundError, CoordinatorError } from '../errors';

/** The ID argument of `builds inspect`, `cancel` and `logs`: what `build --detach` printed. */
export function parseBuildId(text: string): string {
  const id = text.trim();
  if (id === '' || /\s/.test(id)) {
    throw new InvalidInputError('ID', `"${text}" is not a build id; \`archfarm builds\` lists them, \`archfarm build --detach\` prints one`);
  }
  return id;
}

/**
 * The coordinator's NOT_FOUND on a call about one build, as BuildNotFoundError so every
 * command says the same thing; any other error is returned as it is.
 */
export function asBuildNotFound(err: unknown, buildId: string, address: string): unknown {
  return err instanceof CoordinatorError && err.status === 'NOT_FOUND' ? new BuildNotFoundError(buildId, address, { cause: err }) : err;
}

/** InspectBuild, an unknown id thrown as BuildNotFoundError. */
export async function inspectBuild(client: BuildCalls, address: string, buildId: string): Promise<BuildDetails> {
  try {
    return await client.inspectBuild({ buildId });
  } catch (err) {
    throw asBuildNotFound(err, buildId, address);
  }
}
