import type { Command } from 'commander';
import { connectAuthService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { AgentNotFoundError, CoordinatorError } from '../errors';
import { writeLine } from '../io';
import { parseAgentName } from './agents-drain';

const FORGET_HELP = `
Examples:
  archfarm agents revoke pi-1     # the old machine is gone or untrusted
  archfarm agents forget pi-1     # its name is free again
  archfarm tokens create          # then enrol the new machine as pi-1 with this token

An agent name belongs to the machine that first enrolled under it: a second enrolment of
the name is refused, revoked or not, so no join token can take over a name and its jobs.
Forgetting deletes the enrolment (its certificates are refused from then on; a connected
agent is cut off) and the agent's record, so one new enrolment may take the name. stdout
stays empty. Needs an admin token.`;

/** `archfarm agents forget NAME`. */
export function addAgentForgetCommand(agents: Command, ctx: CommandContext): void {
  agents
    .command('forget')
    .description("free an agent's name: delete its enrolment and record so a new machine may enrol under it")
    .argument('<NAME>', 'the agent, as `archfarm agents --all` lists it')
    .addHelpText('after', FORGET_HELP)
    .action((name: string, _flags: unknown, cmd: Command) => runForget(name, cmd.optsWithGlobals<ConnectionFlags>(), ctx));
}

export async function runForget(nameArg: string, flags: ConnectionFlags, ctx: CommandContext): Promise<void> {
  const name = parseAgentName(nameArg);
  const conn = await connect(flags, ctx);
  const client = connectAuthService(conn);
  try {
    await client.forgetAgent({ name });
  } catch (err) {
    throw err instanceof CoordinatorError && err.status === 'NOT_FOUND' ? new AgentNotFoundError(name, conn.address, { cause: err }) : err;
  } finally {
    client.close();
  }
  writeLine(ctx.io.stderr, `forgot ${name}; the name is free to enrol`);
}
