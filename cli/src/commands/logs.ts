import type { EventEmitter } from 'node:events';
import type { Command } from 'commander';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { InvalidInputError, Platform } from '@archfarm/common';
import type { BuildDetails, JobLog, StreamLogsRequest } from '@archfarm/proto';
import { attach } from '../attached-stream';
import { connectBuildService, type BuildCalls } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { InterruptedError } from '../errors';
import { Interrupts } from '../interrupts';
import { writeLine, type OutputSink, type TextSink } from '../io';
import { LogPositions } from '../log-positions';
import { noteLine } from '../reattach';
import { fromServiceError } from '../rpc';
import { asBuildNotFound, inspectBuild, parseBuildId } from './build-id';
import { LogsOutput } from './logs-output';

const EXAMPLES = `
Examples:
  archfarm logs b7                                      # every platform, lines prefixed [platform]
  archfarm logs b7 --platform linux/arm64 > arm64.log   # that platform's log, byte for byte
  archfarm logs -f b7                                   # and follow it until the build ends

The log of every attempt is shown; when a platform's job was retried, a line on stderr
marks where the next attempt begins (--- linux/arm64 attempt 2 on builder-b ---). With -f, a
lost stream (a coordinator restart) is re-attached where it left off, saying so on stderr.`;

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
    await copyLogs(client, address, { buildId, platform, follow: flags.follow === true, logs: [] }, output, io, interrupts);
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

/**
 * Streams the logs into `output` until the coordinator ends the stream or a signal comes.
 * Following (-f), a lost stream is re-attached from the bytes shown per attempt, so no byte
 * is lost or shown twice.
 */
async function copyLogs(
  client: BuildCalls,
  address: string,
  request: StreamLogsRequest,
  output: LogsOutput,
  io: { stdout: OutputSink; stderr: TextSink },
  interrupts: Interrupts,
): Promise<void> {
  const positions = new LogPositions();
  const stream = attach<JobLog, true>(
    {
      open: () => client.streamLogs({ ...request, logs: positions.list() }),
      handle: (log, call) => {
        // Only the platform asked for, even from a coordinator that sends more.
        if (request.platform !== '' && log.platform !== request.platform) return undefined;
        const fresh = positions.take(log);
        if (fresh && !output.write(fresh)) pauseUntilDrained(call, io.stdout);
        return undefined;
      },
      ended: () => true,
      fatal: (err) => asBuildNotFound(fromServiceError(err, 'StreamLogs', address), request.buildId, address),
    },
    { address, buildId: request.buildId, reattach: request.follow, onNote: (note) => writeLine(io.stderr, noteLine(note)) },
  );
  try {
    const first = await Promise.race([stream.result, interrupts.fired]);
    if (typeof first === 'string') throw new InterruptedError(first);
  } finally {
    stream.stop();
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
