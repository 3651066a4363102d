import type { Command } from 'commander';
import { InvalidInputError } from '@archfarm/common';
import type { TokenInfo } from '@archfarm/proto';
import { connectAuthService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, parseChoice } from '../options';
import { formatLabels, formatTable, isoTime, shortTime, terminalWidth } from '../table';

const LIST_HELP = `
Examples:
  archfarm tokens list
  archfarm tokens list --output json | jq '.[] | select(.state == "active" and .kind == "admin") | .id'

STATE is active, expired, revoked or used-up (a join token with no enrolments left). The
token itself is never shown again: the coordinator keeps only its hash. Needs an admin token.`;

const REVOKE_HELP = `
Examples:
  archfarm tokens revoke 3f9a1c2b7d4e

The token is refused from then on (a join token enrols no more agents; agents that joined
with it stay enrolled: revoke them with \`archfarm agents revoke NAME\`). The last working
admin token cannot be revoked: create another first. stdout stays empty. Needs an admin token.`;

interface ListFlags extends ConnectionFlags {
  output?: string;
}

/** `archfarm tokens list` and `archfarm tokens revoke ID`. */
export function addTokensListCommands(tokens: Command, ctx: CommandContext): void {
  tokens
    .command('list')
    .description('list tokens: id, kind, state, expiry, uses left, labels (never the token itself)')
    .addOption(choiceOption('--output <format>', 'text (a table) or json (default: text)', OUTPUT_CHOICES))
    .addHelpText('after', LIST_HELP)
    .action((_flags: unknown, cmd: Command) => runListTokens(cmd.optsWithGlobals<ListFlags>(), ctx));
  tokens
    .command('revoke')
    .description('refuse a token from now on')
    .argument('<ID>', 'the token id, as `archfarm tokens list` shows it')
    .addHelpText('after', REVOKE_HELP)
    .action((id: string, _flags: unknown, cmd: Command) => runRevokeToken(id, cmd.optsWithGlobals<ConnectionFlags>(), ctx));
}

export async function runListTokens(flags: ListFlags, ctx: CommandContext, now = Date.now()): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const conn = await connect(flags, ctx);
  const client = connectAuthService(conn);
  let tokens: TokenInfo[];
  try {
    ({ tokens } = await client.listTokens({}));
  } finally {
    client.close();
  }
  if (output === 'json') return writeLine(ctx.io.stdout, JSON.stringify(tokens.map((t) => tokenJson(t, now)), null, 2));
  const rows = tokens.map((t) => [t.id, t.kind, tokenState(t, now), shortTime(t.createdMs), t.expiresMs > 0 ? shortTime(t.expiresMs) : 'never', t.usesLeft < 0 ? '-' : String(t.usesLeft), formatLabels(t.labels) || '-', t.description || '-']);
  const fit = { width: terminalWidth(ctx.io.stdout), shrink: [6, 7] }; // labels, description
  for (const line of formatTable([['ID', 'KIND', 'STATE', 'CREATED', 'EXPIRES', 'USES', 'LABELS', 'DESCRIPTION'], ...rows], '', fit)) writeLine(ctx.io.stdout, line);
}

export async function runRevokeToken(idArg: string, flags: ConnectionFlags, ctx: CommandContext): Promise<void> {
  const id = idArg.trim();
  if (!/^[0-9a-zA-Z_-]{1,64}$/.test(id)) throw new InvalidInputError('ID', `"${idArg}" is not a token id; see \`archfarm tokens list\``);
  const conn = await connect(flags, ctx);
  const client = connectAuthService(conn);
  try {
    await client.revokeToken({ id });
  } finally {
    client.close();
  }
  writeLine(ctx.io.stderr, `revoked token ${id}`);
}

/** One state, in the order the coordinator refuses: revoked, then expired, then used up. */
export function tokenState(t: TokenInfo, now: number): 'active' | 'expired' | 'revoked' | 'used-up' {
  if (t.revokedMs > 0) return 'revoked';
  if (t.expiresMs > 0 && t.expiresMs <= now) return 'expired';
  if (t.kind === 'join' && t.usesLeft === 0) return 'used-up';
  return 'active';
}

function tokenJson(t: TokenInfo, now: number) {
  return {
    id: t.id,
    kind: t.kind,
    state: tokenState(t, now),
    createdAt: isoTime(t.createdMs),
    expiresAt: isoTime(t.expiresMs),
    usesLeft: t.usesLeft < 0 ? null : t.usesLeft,
    labels: t.labels,
    description: t.description,
    revokedAt: isoTime(t.revokedMs),
  };
}
