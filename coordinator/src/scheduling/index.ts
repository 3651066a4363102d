/** Placement of platform jobs on agents: eligibility, ranking, fairness between builds. */
export { decide, placementSettings, DEFAULT_PLACEMENT } from './placement';
export type { AgentView, Decision, EmulationPolicy, JobView, PlacementSettings } from './placement';
export { DurationHistory, expectedDuration } from './history';
export type { DurationHistoryOptions, Estimate, Expected, HistoryView, PeerEstimate } from './history';
export { fairOrder, type QueuedJob } from './fair-order';
export { analyzeDockerfile, type DockerfileAnalysis } from './dockerfile-analysis';
export { formatDuration } from './reasons';
