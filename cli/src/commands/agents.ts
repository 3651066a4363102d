import type { Command } from 'commander';
import type { AgentInfo } from '@archfarm/proto';
import { connectBuildService } from '../client';
import type { CommandContext } from '../command-context';
import { writeLine } from '../io';
import { OUTPUT_CHOICES, parseChoice, resolveCoordinator } from '../options';
import { modeName } from '../progress/format';
import { unary } from '../rpc';
import { formatTable } from '../table';

const EXAMPLES = `
Examples:
  archfarm agents
  archfarm agents --output json | jq '.[] | select(.freeSlots > 0) | .name'
  ARCHFARM_COORDINATOR=farm.example:7420 archfarm agents`;

/** One agent in `archfarm agents --output json`. */
export interface AgentJson {
  name: string;
  version: string;
  engine: string;
  slots: number;
  freeSlots: number;
  labels: Record<string, string>;
  platforms: { platform: string; mode: string }[];
}

interface AgentsFlags {
  coordinator?: string;
  output?: string;
}

/** `archfarm agents`: who is connected, what each builds and how, and spare capacity. */
export function addAgentsCommand(program: Command, ctx: CommandContext): void {
  program
    .command('agents')
    .description('list connected agents, the platforms each serves (native or emulated) and free slots')
    .option('--output <format>', 'text (a table) or json (default: text)')
    .addHelpText('after', EXAMPLES)
    .action((_flags: unknown, cmd: Command) => runAgents(cmd.optsWithGlobals<AgentsFlags>(), ctx));
}

export async function runAgents(flags: AgentsFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const address = resolveCoordinator(flags.coordinator, ctx.io.env);
  const client = connectBuildService(address);
  try {
    const { agents } = await unary(address, 'ListAgents', client.listAgents.bind(client), {});
    const sorted = [...agents].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(sorted.map(agentJson), null, 2));
    else if (sorted.length === 0) writeLine(ctx.io.stderr, `no agents are connected to the coordinator at ${address}`);
    else for (const line of agentsTable(sorted)) writeLine(ctx.io.stdout, line);
  } finally {
    client.close();
  }
}

export function agentJson(agent: AgentInfo): AgentJson {
  return {
    name: agent.name,
    version: agent.version,
    engine: agent.engine,
    slots: agent.slots,
    freeSlots: agent.freeSlots,
    labels: agent.labels,
    platforms: agent.platforms.map((p) => ({ platform: p.platform, mode: modeName(p.mode) })),
  };
}

export function agentsTable(agents: readonly AgentInfo[]): string[] {
  return formatTable([
    ['NAME', 'PLATFORMS', 'SLOTS', 'ENGINE', 'VERSION'],
    ...agents.map((a) => [
      a.name,
      a.platforms.map((p) => `${p.platform} (${modeName(p.mode)})`).join(', '),
      `${a.freeSlots}/${a.slots}`,
      a.engine,
      a.version,
    ]),
  ]);
}
