import type { Command, Option } from 'commander';

/** One option as a completion script offers it. */
export interface CompletionOption {
  /** Every spelling: `--status`, and `-s` when it has a short form. */
  names: string[];
  takesValue: boolean;
  /** The values it declares (commander's argChoices); empty when any value goes. */
  choices: string[];
  description: string;
}

/** One command of the tree: what may follow it. */
export interface CompletionNode {
  /** Command names from the program down: [] for `archfarm`, ['builds', 'ls']. */
  path: string[];
  description: string;
  commands: CompletionNode[];
  /** Its own options, the program's (accepted anywhere) and its default subcommand's. */
  options: CompletionOption[];
  /** The values its first argument declares (`completion <shell>`: bash, zsh, fish). */
  argumentChoices: string[];
}

/**
 * The command tree as completion scripts need it, read from commander at run time, so a
 * new command, flag or choice completes without touching the scripts.
 */
export function completionTree(program: Command): CompletionNode {
  const globals = program.options.filter((o) => !o.hidden);
  return walk(program, [], globals);
}

function walk(cmd: Command, path: string[], globals: readonly Option[]): CompletionNode {
  const help = cmd.createHelp();
  const subs = help.visibleCommands(cmd).filter((c) => c !== cmd);
  // `archfarm builds --status failed` runs `builds ls`: a group takes its default's flags.
  const fallback = subs.find((c) => c.name() === defaultCommandName(cmd));
  const options = unique([...help.visibleOptions(cmd), ...(path.length > 0 ? globals : []), ...(fallback ? help.visibleOptions(fallback) : [])]);
  return {
    path,
    description: cmd.description(),
    commands: subs.filter((c) => c.name() !== 'help').map((c) => walk(c, [...path, c.name()], globals)),
    options: options.map(completionOption),
    argumentChoices: [...(cmd.registeredArguments[0]?.argChoices ?? [])],
  };
}

/** Commander keeps `{ isDefault: true }` in a field its typings do not declare. */
function defaultCommandName(cmd: Command): string | undefined {
  const name = (cmd as unknown as { _defaultCommandName?: unknown })._defaultCommandName;
  return typeof name === 'string' ? name : undefined;
}

function unique(options: readonly Option[]): Option[] {
  const seen = new Set<string>();
  return options.filter((o) => {
    const key = o.long ?? o.short ?? o.flags;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function completionOption(o: Option): CompletionOption {
  return {
    names: [o.long, o.short].filter((n): n is string => typeof n === 'string'),
    takesValue: o.required || o.optional,
    choices: o.argChoices ? [...o.argChoices] : [],
    description: o.description,
  };
}

/** Every node, the program first, parents before their children. */
export function flatten(node: CompletionNode): CompletionNode[] {
  return [node, ...node.commands.flatMap(flatten)];
}
