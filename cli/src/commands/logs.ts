import type { EventEmitter } from 'node:events';
import type { Command } from 'commander';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { InvalidInputError, Platform } from '@archfarm/common';
import type { BuildDetails, BuildServiceClient, JobLog, StreamLogsRequest } from '@archfarm/proto';
import { connectBuildService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { InterruptedError } from '../errors';
import { Interrupts } from '../interrupts';
import type { OutputSink } from '../io';
import { fromServiceError, isServiceError } from '../rpc';
import { asBuildNotFound, inspectBuild, parseBuildId } from './build-id';
import { LogsOutput } from './logs-output';

const EXAMPLES = `
Examples:
  archfarm logs b7                                      # every platform, lines prefixed [platform]
  archfarm logs b7 --platform linux/arm64 > arm64.log   # that platform's log, byte for byte
  archfarm logs -f b7                                   # and follow it until the build ends

The log of every attempt is shown; when a platform's job was retried, a line on stderr
marks where the next attempt begins (--- linux/arm64 attempt 2 on builder-b ---).`;

interface LogsFlags extends ConnectionFlags {
  platform?: string;
  follow?: boolean;
}

/** `archfarm logs ID`: replay a build's logs (every platform, every attempt), optionally following. */
export function addLogsCommand(program: Command, ctx: CommandContext): void {
  program
    .command('logs')
    .description("print a build's logs from the start; with -f, follow them until the build ends")
    .argument('<ID>', 'the build id, as `archfarm build --detach` or `archfarm builds` print it')
    .option('--platform <os/arch[/variant]>', "only this platform's log, unprefixed")
    .option('-f, --follow', 'keep printing new output until the build ends')
    .addHelpText('after', EXAMPLES)
    .action((id: string, _flags: unknown, cmd: Command) => runLogs(id, cmd.optsWithGlobals<LogsFlags>(), ctx));
}

export async function runLogs(idArg: string, flags: LogsFlags, ctx: CommandContext): Promise<void> {
  const { io } = ctx;
  const buildId = parseBuildId(idArg);
  const wanted = flags.platform === undefined ? undefined : Platform.parse(flags.platform, '--platform');
  const conn = await connect(flags, ctx);
  const { address } = conn;
  const interrupts = new Interrupts(io.signals, io.exit);
  const client = connectBuildService(conn);
  try {
    // Whether to prefix lines must be known before the first byte: ask for the platforms.
    const details = await inspectBuild(client, address, buildId);
    const platform = wanted === undefined ? '' : selectPlatform(details, wanted);
    const output = new LogsOutput(io.stdout, io.stderr, platform === '' && details.platforms.length !== 1);
    await copyLogs(client, address, { buildId, platform, follow: flags.follow === true, logs: [] }, output, io.stdout, interrupts);
  } finally {
    interrupts.dispose();
    client.close();
  }
}

function selectPlatform(details: BuildDetails, wanted: Platform): string {
  const names = details.platforms.map((p) => p.platform);
  // An empty list says nothing about the build; let the coordinator filter.
  if (names.length > 0 && !names.includes(wanted.toString())) {
    throw new InvalidInputError('--platform', `build ${details.buildId} has no platform ${wanted.toString()}; it builds ${names.join(', ')}`);
  }
  return wanted.toString();
}

/** Streams the logs into `output` until the coordinator ends the stream or a signal comes. */
async function copyLogs(
  client: BuildServiceClient,
  address: string,
  request: StreamLogsRequest,
  output: LogsOutput,
  stdout: OutputSink,
  interrupts: Interrupts,
): Promise<void> {
  const call = client.streamLogs(request);
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (log: JobLog) => {
      // Only the platform asked for, even from a coordinator that sends more.
      if (request.platform !== '' && log.platform !== request.platform) return;
      if (!output.write(log)) pauseUntilDrained(call, stdout);
    });
    call.on('end', () => resolve());
    call.on('error', (err: unknown) => {
      reject(isServiceError(err) ? asBuildNotFound(fromServiceError(err, 'StreamLogs', address), request.buildId, address) : err);
    });
  });
  try {
    const first = await Promise.race([done, interrupts.fired]);
    if (typeof first === 'string') {
      // Cancelling fails `done` with CANCELLED; nobody waits for it any more.
      done.catch(() => undefined);
      call.cancel();
      throw new InterruptedError(first);
    }
  } finally {
    output.end();
  }
}

/** A slow reader (`| less`) should hold back the coordinator, not fill this process's memory. */
function pauseUntilDrained(call: ClientReadableStream<JobLog>, stdout: OutputSink): void {
  const emitter = stdout as Partial<EventEmitter>;
  if (typeof emitter.once !== 'function' || call.isPaused()) return;
  call.pause();
  emitter.once('drain', () => call.resume());
}
