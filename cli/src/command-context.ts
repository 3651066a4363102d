import { writeLine, type CliIo } from './io';

/** What every command gets from main. */
export interface CommandContext {
  readonly io: CliIo;
  /**
   * How main prints an error the command throws. A command switches it to 'json' once
   * it knows stderr carries JSON lines (`build --progress json`), so stderr stays parseable.
   */
  errorFormat: 'text' | 'json';
}

/** A warning on stderr: `warning: ...`, or a JSON line when stderr carries JSON. */
export function warn(ctx: CommandContext, message: string): void {
  if (ctx.errorFormat === 'json') writeLine(ctx.io.stderr, JSON.stringify({ type: 'warning', code: 'WARNING', message }));
  else writeLine(ctx.io.stderr, `warning: ${message}`);
}
