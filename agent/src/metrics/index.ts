export { AgentMetrics, type AgentJobOutcome, type AgentMetricsSources } from './agent-metrics';
