import type { Command } from 'commander';
import { InvalidInputError, parseRetention } from '@archfarm/common';
import { BuildState, type BuildDetails } from '@archfarm/proto';
import { connectBuildService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, parseChoice } from '../options';
import { buildStateName } from '../progress/format';
import { formatTable, shortTime, terminalWidth } from '../table';
import { buildDetailsJson } from './build-details';
import { parseScheduleName } from './schedules-client';

/** How many builds `archfarm builds` asks for without --limit. */
export const LIST_LIMIT = 20;

/** The states --status takes, by the names `builds` and its JSON show: from the wire enum. */
const STATE_BY_NAME: ReadonlyMap<string, BuildState> = new Map(
  Object.values(BuildState)
    .filter((s): s is BuildState => typeof s === 'number' && s !== BuildState.BUILD_STATE_UNSPECIFIED && s !== BuildState.UNRECOGNIZED)
    .map((s) => [buildStateName(s), s]),
);
export const BUILD_STATE_CHOICES: readonly string[] = [...STATE_BY_NAME.keys()];

const EXAMPLES = `
Examples:
  archfarm builds
  archfarm builds --status failed --since 2h
  archfarm builds --status failed,cancelled --limit 100 --output json | jq -r '.[].buildId'
  archfarm builds --schedule nightly --limit 5

Lists the ${LIST_LIMIT} (or --limit) most recent builds, newest first; --status, --since and
--schedule narrow the list on the coordinator, so --limit counts matching builds.
\`archfarm builds inspect ID\` shows one.`;

interface ListFlags extends ConnectionFlags {
  output?: string;
  schedule?: string;
  status?: string;
  limit?: string;
  since?: string;
}

/** An element of `archfarm builds --output json`: the build and the schedule that started it. */
/** `archfarm builds` (or `builds ls`): the recent builds, one line each. */
export function addBuildsListCommand(builds: Command, ctx: CommandContext): void {
  builds
    .command('ls', { isDefault: true })
    .description('list the most recent builds, newest first (the default)')
    .addOption(choiceOption('--output <format>', 'text (a table) or json (default: text)', OUTPUT_CHOICES))
    .option('--schedule <NAME>', 'only the builds this schedule started (`archfarm schedules` lists them)')
    .addOption(choiceOption('--status <state>', 'only builds in this state; a comma-separated list for several', BUILD_STATE_CHOICES))
    .option('--limit <N>', `at most this many builds (default: ${LIST_LIMIT})`)
    .option('--since <duration>', 'only builds created within this long, e.g. 30m, 2h, 7d')
    .addHelpText('after', EXAMPLES)
    .action((_flags: unknown, cmd: Command) => runList(cmd.optsWithGlobals<ListFlags>(), ctx));
}

export async function runList(flags: ListFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const schedule = flags.schedule === undefined ? '' : parseScheduleName(flags.schedule, '--schedule');
  const narrowing = listNarrowing(flags);
  const conn = await connect(flags, ctx);
  const { address } = conn;
  const client = connectBuildService(conn);
  try {
    const { builds } = await client.listBuilds({ schedule, ...narrowing });
    // Newest first whatever order the coordinator keeps; equal times keep its order.
    const sorted = [...builds].sort((a, b) => b.createdMs - a.createdMs);
    if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(sorted.map(buildDetailsJson), null, 2));
    else if (sorted.length === 0) writeLine(ctx.io.stderr, noBuildsNote(flags, schedule, address));
    else for (const line of buildsTable(sorted, terminalWidth(ctx.io.stdout))) writeLine(ctx.io.stdout, line);
  } finally {
    client.close();
  }
}

/** --limit, --status and --since as ListBuildsRequest fields; a bad value names its flag. */
export function listNarrowing(flags: Pick<ListFlags, 'status' | 'limit' | 'since'>): { limit: number; states: BuildState[]; createdWithinMs: number } {
  const limitText = flags.limit?.trim();
  if (limitText !== undefined && !/^[1-9]\d{0,8}$/.test(limitText)) throw new InvalidInputError('--limit', `"${flags.limit}" is not a whole number of builds above 0`);
  const states = (flags.status ?? '')
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => STATE_BY_NAME.get(parseChoice(s, BUILD_STATE_CHOICES, '--status'))!);
  if (flags.status !== undefined && states.length === 0) throw new InvalidInputError('--status', `give one of ${BUILD_STATE_CHOICES.join(', ')}`);
  const createdWithinMs = flags.since === undefined ? 0 : parseRetention(flags.since, '--since');
  if (flags.since !== undefined && createdWithinMs <= 0) throw new InvalidInputError('--since', `"${flags.since}" is not a duration above 0`);
  return { limit: limitText === undefined ? LIST_LIMIT : Number(limitText), states, createdWithinMs };
}

function noBuildsNote(flags: ListFlags, schedule: string, address: string): string {
  const what = schedule ? `builds of schedule ${schedule}` : 'builds';
  const filtered = flags.status !== undefined || flags.since !== undefined;
  return `no ${filtered ? `matching ${what}` : what} on the coordinator at ${address}`;
}

/** Free text that may be cut to the terminal's width: the tag and the platforms. */
const BUILDS_SHRINK = [1, 3];

/**
 * Digests shortened as `docker images` does; `builds inspect` and JSON have them whole.
 * `width`: the terminal's, if any.
 */
export function buildsTable(builds: readonly BuildDetails[], width?: number): string[] {
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
  ], '', { width, shrink: BUILDS_SHRINK });
}
