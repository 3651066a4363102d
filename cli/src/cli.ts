import { Command, CommanderError, Option } from 'commander';
import { ArchfarmError, ARCHFARM_VERSION, errorMessage } from '@archfarm/common';
import type { CommandContext } from './command-context';
import { addAgentsCommand } from './commands/agents';
import { addBuildCommand } from './commands/build';
import { errorJson, type BuildResultJson } from './commands/build-result';
import { addBuildsCommand } from './commands/builds';
import { addCancelCommand } from './commands/cancel';
import { addCompletionCommand } from './commands/completion';
import { addLoginCommand } from './commands/login';
import { addLogsCommand } from './commands/logs';
import { addProvenanceCommand } from './commands/provenance';
import { addRegistryCommand } from './commands/registry-login';
import { addSchedulesCommand } from './commands/schedules';
import { addTokensCommand } from './commands/tokens';
import { addVerifyCommand } from './commands/verify';
import { addVersionCommand } from './commands/version';
import { PublishedPartiallyError } from './errors';
import { ExitCode, exitCodeFor, exitStatusHelp } from './exit-codes';
import { writeLine, type CliIo } from './io';
import { DEFAULT_COORDINATOR } from './options';
import { jsonSafe, terminalSafe } from './progress/terminal-safe';

const PROGRAM_EXAMPLES = `
Examples:
  archfarm login --coordinator 10.0.0.5:7420 --ca-fingerprint sha256:3f2a... --token-stdin < admin.token
  archfarm tokens create --ttl 1h           # a join token; prints the archfarm-agent command to run
  archfarm agents
  archfarm agents drain pi-1
  archfarm build --platform linux/amd64,linux/arm64 -t 127.0.0.1:5000/hello:1 .
  archfarm build --plan --platform linux/arm64,linux/arm/v7 -t 127.0.0.1:5000/hello:1 .
  archfarm builds --status failed --since 2h
  archfarm builds inspect b7
  archfarm logs -f b7 --platform linux/arm64
  archfarm cancel b7
  archfarm agents revoke pi-1
  archfarm registry login reg.example:5000 -u ci --password-stdin < registry.password
  archfarm schedules add nightly --cron "0 3 * * *" -t 127.0.0.1:5000/hello:1 --on-base-change .
  archfarm provenance key > farm.pub.pem
  archfarm verify 127.0.0.1:5000/hello:1 --require-native linux/s390x
  source <(archfarm completion bash)
  archfarm build --help

Every call goes over TLS to a coordinator whose certificate its CA signed, with an API token.
Each setting comes from its flag, else its variable, else the config file \`archfarm login\`
wrote ($ARCHFARM_CONFIG or ~/.config/archfarm/config.json):
  coordinator  --coordinator, ARCHFARM_COORDINATOR, config (default ${DEFAULT_COORDINATOR})
  token        --token, ARCHFARM_TOKEN, config
  CA           --ca-file or --ca-fingerprint, ARCHFARM_CA_FILE or ARCHFARM_CA_FINGERPRINT, config
  plain text   --insecure, ARCHFARM_INSECURE=1 (a dev coordinator on this machine only)

${exitStatusHelp()}`;

/**
 * The `archfarm` program. Each command lives in its own file under commands/ and is
 * added here; --coordinator and the TLS and token options are program options, so they
 * are accepted before or after any command name and shown in every command's help.
 */
export function createProgram(ctx: CommandContext): Command {
  const program = new Command('archfarm')
    .description('Build multi-platform container images on a farm of native and emulating agents.')
    .version(ARCHFARM_VERSION, '-V, --version')
    .addOption(
      new Option('--coordinator <host:port>', `the coordinator's API address (env: ARCHFARM_COORDINATOR; default: the stored one, else ${DEFAULT_COORDINATOR})`),
    )
    .addOption(new Option('--token <token>', 'API token (env: ARCHFARM_TOKEN; default: the stored one); visible in the process list, prefer the variable'))
    .addOption(new Option('--ca-file <path>', "PEM file of the CA that signs the coordinator's certificate (env: ARCHFARM_CA_FILE; default: the stored CA)"))
    .addOption(
      new Option('--ca-fingerprint <sha256:hex>', "fetch the coordinator's CA and pin it by this fingerprint (env: ARCHFARM_CA_FINGERPRINT)"),
    )
    .addOption(new Option('--insecure', 'plain text, no TLS, for a coordinator started with --insecure on this machine (env: ARCHFARM_INSECURE=1)'))
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
  addLoginCommand(program, ctx);
  addTokensCommand(program, ctx);
  addRegistryCommand(program, ctx);
  addSchedulesCommand(program, ctx);
  addCompletionCommand(program, ctx);
  addProvenanceCommand(program, ctx);
  addVerifyCommand(program, ctx);
  addVersionCommand(program, ctx);
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
 * Messages may quote an agent or a build (a job's error): control characters are neutralised.
 */
export function reportError(err: unknown, exitCode: number, ctx: CommandContext): void {
  const { stderr, env } = ctx.io;
  const code = err instanceof ArchfarmError ? err.code : 'INTERNAL';
  if (err instanceof PublishedPartiallyError) {
    if (ctx.errorFormat === 'text') for (const line of err.warnings()) writeLine(stderr, terminalSafe(line));
    else writeLine(stderr, jsonSafe(JSON.stringify({ type: 'warning', code, message: err.message, leftOut: leftOutJson(err), exitCode })));
  } else if (ctx.errorFormat === 'json') {
    writeLine(stderr, jsonSafe(JSON.stringify({ type: 'error', code, message: errorMessage(err), exitCode })));
  } else {
    writeLine(stderr, terminalSafe(`error: ${errorMessage(err)}`));
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

