import type { Command } from 'commander';
import { connectBuildService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { asBuildNotFound, parseBuildId } from './build-id';
import { BuildState } from '@archfarm/proto';
import { BuildAlreadyPublishedError } from '../errors';

const EXAMPLES = `
Examples:
  archfarm cancel b7
  id=$(archfarm build --detach -t reg.example/app:1.4 .) && archfarm cancel "$id"

Every platform's job is stopped on its agent and nothing is published. A build that is
publishing is stopped only if its index is not written yet; the answer waits for that.
stdout stays empty. Exit status:
  0  cancelled (or it had already ended without publishing: the note says so)
  1  the coordinator knows no such build
  6  too late: the build was already published, its tags stay`;

type CancelFlags = ConnectionFlags;

/** `archfarm cancel ID`: stop a build that another process (or --detach) started. */
export function addCancelCommand(program: Command, ctx: CommandContext): void {
  program
    .command('cancel')
    .description('cancel a build: stop its jobs on the agents and publish nothing')
    .argument('<ID>', 'the build id, as `archfarm build --detach` or `archfarm builds` print it')
    .addHelpText('after', EXAMPLES)
    .action((id: string, _flags: unknown, cmd: Command) => runCancel(id, cmd.optsWithGlobals<CancelFlags>(), ctx));
}

export async function runCancel(idArg: string, flags: CancelFlags, ctx: CommandContext): Promise<void> {
  const buildId = parseBuildId(idArg);
  const conn = await connect(flags, ctx);
  const { address } = conn;
  const client = connectBuildService(conn);
  let state: BuildState;
  try {
    ({ state } = await client.cancelBuild({ buildId }));
  } catch (err) {
    throw asBuildNotFound(err, buildId, address);
  } finally {
    client.close();
  }
  // Never call a published build cancelled: the registry has its index.
  if (state === BuildState.BUILD_STATE_PUBLISHED) throw new BuildAlreadyPublishedError(buildId);
  // A note, not a result: stdout stays empty so scripts need not discard it.
  writeLine(ctx.io.stderr, state === BuildState.BUILD_STATE_FAILED ? `build ${buildId} had already failed; nothing to cancel` : `cancelled ${buildId}`);
}
