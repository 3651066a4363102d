import type { Command } from 'commander';
import { InvalidInputError } from '@archfarm/common';
import type { AgentInfo } from '@archfarm/proto';
import { connectBuildService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { AgentNotFoundError, CoordinatorError } from '../errors';
import { writeLine } from '../io';

const DRAIN_HELP = `
Example:
  archfarm agents drain pi-1      # before unplugging it; \`archfarm agents\` shows its running jobs

The agent takes no new jobs; the jobs running on it finish, and its queued work goes to
other agents. It stays drained until \`archfarm agents resume NAME\`. stdout stays empty.`;

const RESUME_HELP = `
Example:
  archfarm agents resume pi-1

The agent takes new jobs again. stdout stays empty.`;

type FleetFlags = ConnectionFlags;

/** `archfarm agents drain NAME` and `archfarm agents resume NAME`. */
export function addAgentDrainCommands(agents: Command, ctx: CommandContext): void {
  agents
    .command('drain')
    .description('give the agent no new jobs; its running jobs finish')
    .argument('<NAME>', 'the agent, as `archfarm agents` lists it')
    .addHelpText('after', DRAIN_HELP)
    .action((name: string, _flags: unknown, cmd: Command) => runDrain(name, true, cmd.optsWithGlobals<FleetFlags>(), ctx));
  agents
    .command('resume')
    .description('let a drained agent take new jobs again')
    .argument('<NAME>', 'the agent, as `archfarm agents` lists it')
    .addHelpText('after', RESUME_HELP)
    .action((name: string, _flags: unknown, cmd: Command) => runDrain(name, false, cmd.optsWithGlobals<FleetFlags>(), ctx));
}

/** Drains (or resumes) one agent; a note on stderr says what happens to its running jobs. */
export async function runDrain(nameArg: string, drain: boolean, flags: FleetFlags, ctx: CommandContext): Promise<void> {
  const name = parseAgentName(nameArg);
  const conn = await connect(flags, ctx);
  const { address } = conn;
  const client = connectBuildService(conn);
  let agent: AgentInfo;
  try {
    agent = drain
      ? await client.drainAgent({ name })
      : await client.resumeAgent({ name });
  } catch (err) {
    throw err instanceof CoordinatorError && err.status === 'NOT_FOUND' ? new AgentNotFoundError(name, address, { cause: err }) : err;
  } finally {
    client.close();
  }
  const jobs = `${agent.running} running ${agent.running === 1 ? 'job' : 'jobs'} will finish`;
  writeLine(ctx.io.stderr, drain ? `drained ${name} (${jobs})` : `resumed ${name}`);
}

/** The NAME argument of `agents drain|resume|revoke`. */
export function parseAgentName(text: string): string {
  const name = text.trim();
  if (name === '' || /\s/.test(name)) throw new InvalidInputError('NAME', `"${text}" is not an agent name; \`archfarm agents --all\` lists them`);
  return name;
}
