import { Option } from 'commander';

/**
 * An option that takes one of `choices`: --help lists them and `archfarm completion` offers
 * them. Commander does not check them (it would be case-sensitive and word its own error):
 * the command's parseChoice does, naming the flag, with exit status 2 as other bad input.
 */
export function choiceOption(flags: string, description: string, choices: readonly string[]): Option {
  const option = new Option(flags, description);
  option.argChoices = [...choices];
  return option;
}
