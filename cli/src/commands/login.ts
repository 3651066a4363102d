import type { Command } from 'commander';
import { InvalidInputError } from '@archfarm/common';
import type { WhoAmIResponse } from '@archfarm/proto';
import { connectAuthService, openConnection } from '../client';
import { warn, type CommandContext } from '../command-context';
import { writeConfig } from '../config-file';
import { resolveConnection, type ConnectionFlags } from '../connection-settings';
import { writeLine, type CliIo } from '../io';
import { readSecret } from '../secret-input';

const EXAMPLES = `
Examples:
  # The coordinator logged its CA fingerprint and wrote the first admin token to DATA/admin-token
  archfarm login --coordinator 10.0.0.5:7420 --ca-fingerprint sha256:3f2a... --token-stdin < admin-token

  # A new token for the same coordinator (its address and CA are already stored)
  archfarm login --token "$NEW_TOKEN"

Fetches the coordinator's CA and checks it against --ca-fingerprint (or takes --ca-file),
checks the token with the coordinator, then writes coordinator, token and CA to
$ARCHFARM_CONFIG or ~/.config/archfarm/config.json (mode 0600). Every later command uses
them unless a flag or variable says otherwise. The token is never printed.`;

interface LoginFlags extends ConnectionFlags {
  tokenStdin?: boolean;
}

/** `archfarm login`: pin the coordinator's CA, check a token, store both. */
export function addLoginCommand(program: Command, ctx: CommandContext): void {
  program
    .command('login')
    .description("check an API token with the coordinator and store it with the coordinator's address and CA")
    .option('--token-stdin', 'read the token from stdin (keeps it out of the process list and shell history)')
    .addHelpText('after', EXAMPLES)
    .action((_flags: unknown, cmd: Command) => runLogin(cmd.optsWithGlobals<LoginFlags>(), ctx));
}

export async function runLogin(flags: LoginFlags, ctx: CommandContext): Promise<void> {
  const token = await loginToken(flags, ctx.io);
  const settings = resolveConnection({ ...flags, token }, ctx.io.env, { useConfigToken: false });
  if (settings.trust.kind === 'insecure') {
    throw new InvalidInputError(settings.trust.field, 'a dev coordinator checks no token and has no CA to store: give --insecure to each command instead of logging in');
  }
  const conn = await openConnection(settings, (message) => warn(ctx, message));
  const client = connectAuthService(conn);
  let who: WhoAmIResponse;
  try {
    who = await client.whoAmI({});
  } finally {
    client.close();
  }
  writeConfig(ctx.io.env, { coordinator: conn.address, token, caPem: conn.caPem });
  writeLine(ctx.io.stderr, `logged in to ${conn.address} as ${who.role || 'an unknown role'}`);
}

/** --token-stdin, else --token, else ARCHFARM_TOKEN; never the stored one (that is what login replaces). */
async function loginToken(flags: LoginFlags, io: CliIo): Promise<string> {
  if (flags.tokenStdin) {
    if (flags.token !== undefined) throw new InvalidInputError('--token-stdin', 'and --token both give the token; use one');
    return (await readSecret(io.stdin, '--token-stdin')).trim();
  }
  const token = flags.token ?? io.env.ARCHFARM_TOKEN;
  if (!token?.trim()) {
    throw new InvalidInputError(
      '--token',
      'login needs a token: --token T, --token-stdin or ARCHFARM_TOKEN (the coordinator writes the first admin token to DATA/admin-token on the coordinator host; `archfarm tokens create --role ...` makes more)',
    );
  }
  return token.trim();
}
