export { CoordinatorMetrics, NO_OBSERVER, type BuildObserver, type MetricsSources } from './coordinator-metrics';
export { agentSamples, agentState, queueDepth, slotSamples, type AgentSample, type AgentStateName, type AgentSnapshot } from './samples';
export { agentSnapshots } from './agent-snapshots';
