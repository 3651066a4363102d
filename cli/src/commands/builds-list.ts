import type { Command } from 'commander';
import type { BuildDetails } from '@archfarm/proto';
import { connectBuildService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { OUTPUT_CHOICES, parseChoice } from '../options';
import { buildStateName } from '../progress/format';
import { unary } from '../rpc';
import { formatTable, shortTime } from '../table';
import { buildDetailsJson } from './build-details';
import { parseScheduleName } from './schedules-client';

/** How many builds `archfarm builds` asks for. */
export const LIST_LIMIT = 20;

const EXAMPLES = `
Examples:
  archfarm builds
  archfarm builds --output json | jq -r '.[] | select(.state == "failed") | .buildId'
  archfarm builds --schedule nightly

Lists the ${LIST_LIMIT} most recent builds, newest first (with --schedule, those the schedule
started); \`archfarm builds inspect ID\` shows one.`;

interface ListFlags extends ConnectionFlags {
  output?: string;
  schedule?: string;
}

/** An element of `archfarm builds --output json`: the build and the schedule that started it. */
/** `archfarm builds` (or `builds ls`): the recent builds, one line each. */
export function addBuildsListCommand(builds: Command, ctx: CommandContext): void {
  builds
    .command('ls', { isDefault: true })
    .description(`list the ${LIST_LIMIT} most recent builds (the default)`)
    .option('--output <format>', 'text (a table) or json (default: text)')
    .option('--schedule <NAME>', 'only the builds this schedule started (`archfarm schedules` lists them)')
    .addHelpText('after', EXAMPLES)
    .action((_flags: unknown, cmd: Command) => runList(cmd.optsWithGlobals<ListFlags>(), ctx));
}

export async function runList(flags: ListFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const schedule = flags.schedule === undefined ? '' : parseScheduleName(flags.schedule, '--schedule');
  const conn = await connect(flags, ctx);
  const { address } = conn;
  const client = connectBuildService(conn);
  try {
    const { builds } = await unary(address, 'ListBuilds', client.listBuilds.bind(client), { limit: LIST_LIMIT, schedule });
    // Newest first whatever order the coordinator keeps; equal times keep its order.
    const sorted = [...builds].sort((a, b) => b.createdMs - a.createdMs);
    if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(sorted.map(buildDetailsJson), null, 2));
    else if (sorted.length === 0) writeLine(ctx.io.stderr, schedule ? `no builds of schedule ${schedule} on the coordinator at ${address}` : `no builds on the coordinator at ${address}`);
    else for (const line of buildsTable(sorted)) writeLine(ctx.io.stdout, line);
  } finally {
    client.close();
  }
}


/** Digests shortened as `docker images` does; `builds inspect` and JSON have them whole. */
export function buildsTable(builds: readonly BuildDetails[]): string[] {
  return formatTable([
    ['ID', 'TAG', 'STATE', 'PLATFORMS', 'CREATED', 'DIGEST'],
    ...builds.map((b) => [
      b.buildId,
      b.tag || '-',
      buildStateName(b.state),
      b.platforms.map((p) => p.platform).join(',') || '-',
      shortTime(b.createdMs),
      b.digest ? b.digest.slice(0, 'sha256:'.length + 12) : '-',
    ]),
  ]);
}
