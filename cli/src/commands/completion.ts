import { Argument, type Command } from 'commander';
import { InvalidInputError } from '@archfarm/common';
import type { CommandContext } from '../command-context';
import { writeLine } from '../io';
import { bashScript } from './completion-bash';
import { fishScript } from './completion-fish';
import { completionTree } from './completion-tree';
import { zshScript } from './completion-zsh';

const SHELLS = { bash: bashScript, zsh: zshScript, fish: fishScript } as const;
type Shell = keyof typeof SHELLS;

const EXAMPLES = `
Examples:
  source <(archfarm completion bash)                  # this bash session; add it to ~/.bashrc to keep it
  archfarm completion zsh > "\${fpath[1]}/_archfarm"   # zsh, then start a new shell
  archfarm completion fish > ~/.config/fish/completions/archfarm.fish

The script is made from this CLI's commands, flags and choices: regenerate it after an upgrade.`;

/** `archfarm completion SHELL`: the completion script for that shell, on stdout. */
export function addCompletionCommand(program: Command, ctx: CommandContext): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(Object.keys(SHELLS)))
    .addHelpText('after', EXAMPLES)
    .action((shell: string) => writeLine(ctx.io.stdout, completionScript(program, shell).trimEnd()));
}

/** The script for `shell`, generated from `program`'s command tree as it is now. */
export function completionScript(program: Command, shell: string): string {
  if (!(shell in SHELLS)) throw new InvalidInputError('SHELL', `"${shell}" is not one of ${Object.keys(SHELLS).join(', ')}`);
  return SHELLS[shell as Shell](completionTree(program), program.name());
}
