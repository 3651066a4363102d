/**
 * The `archfarm` CLI as a library, for tests and tools that drive it in-process.
 * The binary's entry point is main.ts.
 */
export { runCli, createProgram } from './cli';
export { ExitCode, exitCodeFor } from './exit-codes';
export * from './errors';
export type { CliIo, OutputSink, TextSink } from './io';
export type { BuildResultJson, DetachedJson, ErrorJson } from './commands/build-result';
export type { AttemptJson, BuildDetailsJson, PlatformDetailsJson } from './commands/build-details';
export type { AgentJson, AgentStatus } from './commands/agents-table';
export type { PlannedJobJson } from './commands/build-plan';
