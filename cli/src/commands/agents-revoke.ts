import type { Command } from 'commander';
import { connectAuthService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { AgentNotFoundError, CoordinatorError } from '../errors';
import { writeLine } from '../io';
import { parseAgentName } from './agents-drain';

const REVOKE_HELP = `
Example:
  archfarm agents revoke pi-1     # a lost or stolen machine

Its stream to the coordinator closes at once and the certificates of this enrolment are
refused from then on, so it cannot reconnect. The name stays taken: enrolling it again is
refused until \`archfarm agents forget NAME\` frees it (a later enrolment under the name is
not affected by this revocation). stdout stays empty. Needs an admin token.`;

/** `archfarm agents revoke NAME`. */
export function addAgentRevokeCommand(agents: Command, ctx: CommandContext): void {
  agents
    .command('revoke')
    .description('disconnect the agent and refuse its certificate from now on')
    .argument('<NAME>', 'the agent, as `archfarm agents --all` lists it')
    .addHelpText('after', REVOKE_HELP)
    .action((name: string, _flags: unknown, cmd: Command) => runRevoke(name, cmd.optsWithGlobals<ConnectionFlags>(), ctx));
}

export async function runRevoke(nameArg: string, flags: ConnectionFlags, ctx: CommandContext): Promise<void> {
  const name = parseAgentName(nameArg);
  const conn = await connect(flags, ctx);
  const client = connectAuthService(conn);
  try {
    await client.revokeAgent({ name });
  } catch (err) {
    throw err instanceof CoordinatorError && err.status === 'NOT_FOUND' ? new AgentNotFoundError(name, conn.address, { cause: err }) : err;
  } finally {
    client.close();
  }
  writeLine(ctx.io.stderr, `revoked ${name}`);
}
