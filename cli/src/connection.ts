import { openConnection, type Connection } from './client';
import { warn, type CommandContext } from './command-context';
import { resolveConnection, type ConnectionFlags, type ResolveOptions } from './connection-settings';

/**
 * Resolves the connection flags, environment and config file, prints any warning (as the
 * command's stderr format wants), and fetches the CA if only its fingerprint is known.
 */
export function connect(flags: ConnectionFlags, ctx: CommandContext, options?: ResolveOptions): Promise<Connection> {
  return openConnection(resolveConnection(flags, ctx.io.env, options), (message) => warn(ctx, message));
}
