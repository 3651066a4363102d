import type { Command } from 'commander';
import { connectBuildService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, parseChoice } from '../options';
import { terminalWidth } from '../table';
import { addAgentDrainCommands } from './agents-drain';
import { addAgentForgetCommand } from './agents-forget';
import { addAgentRevokeCommand } from './agents-revoke';
import { agentJson, agentsTable } from './agents-table';

const EXAMPLES = `
Examples:
  archfarm agents
  archfarm agents --all
  archfarm agents --output json | jq '.[] | select(.status == "connected" and .freeSlots > 0) | .name'
  archfarm agents drain pi-1      # no new jobs; its running jobs finish
  archfarm agents resume pi-1
  archfarm agents revoke pi-1     # disconnect it; its certificate is refused from now on
  archfarm agents forget pi-1     # free the name, so a new machine may enrol as pi-1

STATUS is connected, drained (connected, takes no new jobs) or disconnected (--all only).
PLATFORMS marks those built natively with *; the others are emulated. SLOTS is running/total.`;

interface AgentsFlags extends ConnectionFlags {
  output?: string;
  all?: boolean;
}

/**
 * `archfarm agents`: the fleet as a table, like `docker buildx ls`; with the subcommands
 * `drain NAME`, `resume NAME` and `revoke NAME`. A command of its own and a group at once.
 */
export function addAgentsCommand(program: Command, ctx: CommandContext): void {
  const agents = program
    .command('agents')
    .description('list agents: status, platforms (native marked *), slots in use, labels; drain, resume, revoke or forget one')
    .option('--all', 'also agents the coordinator knows but that are not connected now')
    .addOption(choiceOption('--output <format>', 'text (a table) or json (default: text)', OUTPUT_CHOICES))
    // Checked in the action, to say "unknown command" rather than "too many arguments".
    .allowExcessArguments()
    .addHelpText('after', EXAMPLES)
    .action((_flags: unknown, cmd: Command) => {
      if (cmd.args[0] !== undefined) cmd.error(`error: unknown command 'agents ${cmd.args[0]}'; use drain, resume, revoke or forget`, { code: 'commander.unknownCommand' });
      return runAgents(cmd.optsWithGlobals<AgentsFlags>(), ctx);
    });
  addAgentDrainCommands(agents, ctx);
  addAgentRevokeCommand(agents, ctx);
  addAgentForgetCommand(agents, ctx);
}

export async function runAgents(flags: AgentsFlags, ctx: CommandContext, now = Date.now): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const all = flags.all === true;
  const conn = await connect(flags, ctx);
  const { address } = conn;
  const client = connectBuildService(conn);
  try {
    const { agents } = await client.listAgents({ all });
    const sorted = [...agents].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(sorted.map(agentJson), null, 2));
    else if (sorted.length === 0) writeLine(ctx.io.stderr, all ? `the coordinator at ${address} knows no agents` : `no agents are connected to the coordinator at ${address}`);
    else for (const line of agentsTable(sorted, now(), terminalWidth(ctx.io.stdout))) writeLine(ctx.io.stdout, line);
  } finally {
    client.close();
  }
}
