import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { addBuildsInspectCommand } from './builds-inspect';
import { addBuildsListCommand } from './builds-list';

const GROUP_EXAMPLES = `
Examples:
  archfarm builds --status failed --since 2h
  archfarm builds inspect b7

\`archfarm builds ls --help\` lists the flags of the listing.`;

/** `archfarm builds`: a group, `ls` (the default) and `inspect`, as `docker image ls|inspect`. */
export function addBuildsCommand(program: Command, ctx: CommandContext): void {
  const builds = program
    .command('builds')
    .description('list recent builds (builds ls), or show one (builds inspect ID)')
    .addHelpText('after', GROUP_EXAMPLES);
  addBuildsListCommand(builds, ctx);
  addBuildsInspectCommand(builds, ctx);
}
