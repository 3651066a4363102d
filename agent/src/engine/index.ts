/**
 * The agent's view of its container engine: the {@link Engine} interface, its Docker adapter,
 * the capability probe and the engine's error classes.
 */
export * from './engine';
export * from './errors';
export { classify, registryOf, type Classification, type Failure, type FailureCause, type FailureContext } from './failure-cause';
export { failureError, classifyThrown, type StateDirContext } from './failure-error';
export * from './docker-host';
export { DockerEngine, type DockerEngineOptions } from './docker-engine';
export { DEFAULT_RUN_TIMEOUT_MS } from './docker-run';
export { BuildkitProgress } from './buildkit-progress';
export { probePlatforms, type ProbedPlatform, type ProbeOptions } from './probe';
export { probeMode, type BuildMode, type ModeDecision, type ProbeEvidence } from './probe-mode';
export { unpackedTree, memoryTree, type ContextTree, type ContextEntry } from './session/context-tree';
export { exitProgram, canProbe, PROBEABLE_ARCHITECTURES } from './exit-program';
export { tarArchive, type TarFile } from './tar-archive';
