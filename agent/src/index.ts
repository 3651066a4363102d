/** The archfarm agent as a library (the binary is main.ts). */
export { Agent, DEFAULT_CANDIDATES } from './agent';
export { compileAgentOptions, type AgentOptions } from './options';
export * from './engine';
export * from './push';
export { LogShipper } from './log-shipper';
export { ensureEnrolled } from './enrolment';
export { loadIdentity, saveIdentity, SAVE_STEPS, type AgentIdentity, type SaveStep } from './identity-files';
export { ContextCache } from './context-cache';
export { AgentPruner, type HeldWork } from './prune';
