import { InvalidInputError } from '@archfarm/common';
import { parseKeyValues } from '../options';

const FIELD = '--build-arg';

/**
 * --build-arg as buildx reads it: KEY=VALUE, or a bare KEY whose value is taken from the
 * environment (like `docker run -e KEY`). Unlike buildx, which drops a bare KEY that is not
 * set, that is an error here: a build silently missing its argument is worse. A set
 * SOURCE_DATE_EPOCH becomes the build arg of that name unless --build-arg gives one, as buildx does.
 */
export function parseBuildArgs(items: readonly string[], env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const args: Record<string, string> = {};
  for (const item of items) {
    if (item.includes('=')) {
      Object.assign(args, parseKeyValues([item], FIELD));
      continue;
    }
    if (!/^[^\s=]+$/.test(item)) throw new InvalidInputError(FIELD, `"${item}" is not KEY=VALUE or KEY; write e.g. ${FIELD} VERSION=1.4`);
    const value = env[item];
    if (value === undefined) {
      throw new InvalidInputError(FIELD, `"${item}" has no value and ${item} is not set in the environment; write ${item}=VALUE or export ${item}`);
    }
    args[item] = value;
  }
  const epoch = env.SOURCE_DATE_EPOCH?.trim();
  if (epoch && args.SOURCE_DATE_EPOCH === undefined) {
    if (!/^\d+$/.test(epoch)) throw new InvalidInputError('SOURCE_DATE_EPOCH', `"${epoch}" is not a Unix time in whole seconds, e.g. 0 or $(git log -1 --format=%ct)`);
    args.SOURCE_DATE_EPOCH = epoch;
  }
  return args;
}
