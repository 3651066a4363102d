/**
 * The `archfarm` CLI as a library, for tests and tools that drive it in-process.
 * The binary's entry point is main.ts.
 */
export { runCli, createProgram } from './cli';
export { ExitCode, exitCodeFor } from './exit-codes';
export * from './errors';
export type { CliIo, TextSink } from './io';
export type { BuildResultJson } from './commands/build-result';
export type { AgentJson } from './commands/agents';
