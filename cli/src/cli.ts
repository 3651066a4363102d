import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ArchfarmError, errorMessage } from '@archfarm/common';
import type { CommandContext } from './command-context';
import { addAgentsCommand } from './commands/agents';
import { addBuildCommand } from './commands/build';
import { errorJson, type BuildResultJson } from './commands/build-result';
import { addBuildsCommand } from './commands/builds';
import { addCancelCommand } from './commands/cancel';
import { addLogsCommand } from './commands/logs';
import { PublishedPartiallyError } from './errors';
import { ExitCode, exitCodeFor } from './exit-codes';
import { writeLine, type CliIo } from './io';
import { DEFAULT_COORDINATOR } from './options';

const PROGRAM_EXAMPLES = `
Examples:
  archfarm agents
  archfarm agents drain pi-1
  archfarm build --platform linux/amd64,linux/arm64 -t 127.0.0.1:5000/hello:1 .
  archfarm build --plan --platform linux/arm64,linux/arm/v7 -t 127.0.0.1:5000/hello:1 .
  archfarm builds
  archfarm builds inspect b7
  archfarm logs -f b7 --platform linux/arm64
  archfarm cancel b7
  archfarm build --help

The coordinator is --coordinator, else $ARCHFARM_COORDINATOR, else ${DEFAULT_COORDINATOR}.`;

/**
 * The `archfarm` program. Each command lives in its own file under commands/ and is
 * added here; --coordinator is a program option, so it is accepted before or after any
 * command name and shown in every command's help.
 */
export function createProgram(ctx: CommandContext): Command {
  const program = new Command('archfarm')
    .description('Build multi-platform container images on a farm of native and emulating agents.')
    .version(cliVersion(), '-V, --version')
    .addOption(
      new Option('--coordinator <host:port>', `the coordinator's API address (env: ARCHFARM_COORDINATOR; default: ${DEFAULT_COORDINATOR})`),
    )
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
    })
    .addHelpText('after', PROGRAM_EXAMPLES)
    .showHelpAfterError('(add --help for usage)')
    // Commander must not exit the process: main decides the status, after cleanup.
    .exitOverride();
  addBuildCommand(program, ctx);
  addBuildsCommand(program, ctx);
  addLogsCommand(program, ctx);
  addCancelCommand(program, ctx);
  addAgentsCommand(program, ctx);
  return program;
}

/** Runs one command line; returns the exit status. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx: CommandContext = { io, errorFormat: 'text' };
  try {
    await createProgram(ctx).parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    // Commander has already printed its own message (or the help it was asked for).
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
    const code = exitCodeFor(err);
    reportError(err, code, ctx);
    return code;
  }
}

/**
 * Prints a command's failure on stderr: `error: ...`, or one JSON line in JSON mode. A
 * partial publish is not a failure: it prints `warning: ...` lines (or a 'warning' object).
 */
export function reportError(err: unknown, exitCode: number, ctx: CommandContext): void {
  const { stderr, env } = ctx.io;
  const code = err instanceof ArchfarmError ? err.code : 'INTERNAL';
  if (err instanceof PublishedPartiallyError) {
    if (ctx.errorFormat === 'text') for (const line of err.warnings()) writeLine(stderr, line);
    else writeLine(stderr, JSON.stringify({ type: 'warning', code, message: err.message, leftOut: leftOutJson(err), exitCode }));
  } else if (ctx.errorFormat === 'json') {
    writeLine(stderr, JSON.stringify({ type: 'error', code, message: errorMessage(err), exitCode }));
  } else {
    writeLine(stderr, `error: ${errorMessage(err)}`);
  }
  if (env.ARCHFARM_DEBUG) {
    for (let e: unknown = err; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
      writeLine(stderr, e instanceof Error ? (e.stack ?? e.message) : String(e));
    }
  }
}

function leftOutJson(err: PublishedPartiallyError): BuildResultJson['leftOut'] {
  return err.leftOut.map((p) => ({ platform: p.platform, error: errorJson(p.error) }));
}

function cliVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
