import type { CliIo } from './io';

/** What every command gets from main. */
export interface CommandContext {
  readonly io: CliIo;
  /**
   * How main prints an error the command throws. A command switches it to 'json' once
   * it knows stderr carries JSON lines (`build --progress json`), so stderr stays parseable.
   */
  errorFormat: 'text' | 'json';
}
