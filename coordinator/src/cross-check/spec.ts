import { InvalidInputError, Platform } from '@archfarm/common';

/** The build arg BuildKit and the agent's push honour (agent/src/push/source-date-epoch.ts). */
const SOURCE_DATE_EPOCH = 'SOURCE_DATE_EPOCH';

/**
 * The epoch a cross-checked build gets when it names none: without one, every RUN step's
 * file times and the config's `created` differ between any two builds, and the check could
 * never pass. 0, as reproducible-builds.org's tools default to, rather than the submit time,
 * so that building the same inputs again gives the same digest too. It is put in the
 * build's args, so it is stored and shown with the build like one the user gave.
 */
export const CROSS_CHECK_EPOCH = '0';

/**
 * `--cross-check`: each must be one of the build's platforms (once each). A build with any
 * gets SOURCE_DATE_EPOCH unless its args set one; all its platforms then build with it, so
 * the one index holds images made alike. Pure.
 */
export function validateCrossCheck(given: readonly string[], platforms: readonly Platform[], buildArgs: Readonly<Record<string, string>>): { crossCheck: Platform[]; buildArgs: Record<string, string> } {
  const crossCheck: Platform[] = [];
  for (const text of given) {
    for (const platform of Platform.parseList(text, 'cross-check')) {
      if (!platforms.some((p) => p.equals(platform))) {
        const list = platforms.map(String).join(',');
        throw new InvalidInputError('cross-check', `${platform} is not a platform of this build (${list}); add it to --platform or drop --cross-check ${platform}`);
      }
      if (!crossCheck.some((p) => p.equals(platform))) crossCheck.push(platform);
    }
  }
  const epoch = buildArgs[SOURCE_DATE_EPOCH];
  const needsEpoch = crossCheck.length > 0 && (epoch === undefined || epoch === '');
  return { crossCheck, buildArgs: needsEpoch ? { ...buildArgs, [SOURCE_DATE_EPOCH]: CROSS_CHECK_EPOCH } : { ...buildArgs } };
}
