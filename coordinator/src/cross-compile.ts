import type { Logger } from '@archfarm/common';
import { errorMessage } from '@archfarm/common';
import type { ContextStore } from './context-store';
import { analyzeDockerfile } from './scheduling/dockerfile-analysis';

/**
 * Whether a build's Dockerfile does its heavy work on $BUILDPLATFORM (cross-compiling), read
 * from the uploaded context. Then an emulating agent pays little, and the scheduler knows it.
 * An unreadable Dockerfile counts as not cross-compiling: the safe assumption for placement.
 */
export async function isCrossCompiling(contexts: ContextStore, contextDigest: string, dockerfile: string, logger: Logger): Promise<boolean> {
  try {
    const text = await contexts.readFile(contextDigest, dockerfile);
    return text !== undefined && analyzeDockerfile(text.toString('utf8')).crossCompile;
  } catch (err) {
    logger.warn({ contextDigest, err: errorMessage(err) }, 'could not read the Dockerfile to plan placement');
    return false;
  }
}
