import { posix } from 'node:path';
import type { Logger } from '@archfarm/common';
import { errorMessage } from '@archfarm/common';
import type { ContextStore } from './context-store';
import { AnalysisCache } from './scheduling/analysis-cache';
import { analyzeDockerfile, type DockerfileAnalysis } from './scheduling/dockerfile-analysis';
import { MAX_DOCKERFILE_ANALYSIS_BYTES } from './security/limits';

/*
 * One cache per context store, so a coordinator's builds share it and two coordinators in
 * one process (tests) do not; keyed there by digest and path (./scheduling/analysis-cache).
 */
const caches = new WeakMap<ContextStore, AnalysisCache>();

/**
 * Whether a build's Dockerfile does its heavy work on $BUILDPLATFORM (cross-compiling), read
 * from the uploaded context. Then an emulating agent pays little, and the scheduler knows it.
 * An unreadable or oversized Dockerfile counts as not cross-compiling: the safe assumption for placement.
 */
export async function isCrossCompiling(contexts: ContextStore, contextDigest: string, dockerfile: string, logger: Logger): Promise<boolean> {
  try {
    return (await analysis(contexts, contextDigest, dockerfile, logger)).crossCompile;
  } catch (err) {
    logger.warn({ contextDigest, err: errorMessage(err) }, 'could not read the Dockerfile to plan placement');
    return false;
  }
}

/**
 * Why the build's Dockerfile was not analysed, for the plan's reasons; undefined when it was
 * (or was never asked about). Reads only what isCrossCompiling left in the cache.
 */
export async function notAnalysedReason(contexts: ContextStore, contextDigest: string, dockerfile: string): Promise<string | undefined> {
  const held = caches.get(contexts)?.peek(contextDigest, posix.normalize(dockerfile));
  return held?.then((a) => a.notAnalysed).catch(() => undefined);
}

function analysis(contexts: ContextStore, contextDigest: string, dockerfile: string, logger: Logger): Promise<DockerfileAnalysis> {
  let cache = caches.get(contexts);
  if (!cache) caches.set(contexts, (cache = new AnalysisCache()));
  return cache.get(contextDigest, posix.normalize(dockerfile), async () => {
    // One byte over the cap is enough to know it is over.
    const text = await contexts.readFile(contextDigest, dockerfile, MAX_DOCKERFILE_ANALYSIS_BYTES + 1);
    if (text === undefined) return { crossCompile: false, buildPlatformRuns: 0, targetRuns: 0 };
    const result = analyzeDockerfile(text.toString('utf8'));
    if (result.notAnalysed) logger.warn({ contextDigest, dockerfile, limitBytes: MAX_DOCKERFILE_ANALYSIS_BYTES }, 'Dockerfile too big to analyse: the build counts as not cross-compiling');
    return result;
  });
}
