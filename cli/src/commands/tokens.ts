import type { Command } from 'commander';
import { InvalidInputError, caFingerprint } from '@archfarm/common';
import type { CreateTokenRequest, CreateTokenResponse } from '@archfarm/proto';
import { connectAuthService, type Connection } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, collect, parseChoice, parseDuration, parseKeyValues, type OutputFormat } from '../options';
import { addTokensListCommands } from './tokens-list';

const EXAMPLES = `
Examples:
  archfarm tokens create                                   # a join token: one agent, within 1h
  archfarm tokens create --ttl 24h --uses 10 --label rack=pi-shelf
  archfarm tokens create --role builder --description "CI" --output json
  archfarm tokens create --role viewer --ttl 30d
  archfarm tokens create --role admin --ttl never --description "break-glass"

Without --role: a join token for agents (default --ttl 1h, --uses 1); the agents that join
with it get its --label labels, which outrank the labels an agent gives itself. With --role:
an API token for \`archfarm login\` (admin may do everything, builder may build and cancel,
viewer may only look); it expires after 90 days unless --ttl says otherwise (never: no
expiry). stdout holds the token alone (or JSON: token, id, expiresAt); it is shown once, the
coordinator keeps only its hash. \`archfarm tokens list\` shows them, \`archfarm tokens
revoke ID\` refuses one from then on. Needs an admin token.`;

const GROUP_EXAMPLES = `
Examples:
  archfarm tokens create --ttl 1h
  archfarm tokens list --output json
  archfarm tokens revoke 3f9a1c2b7d4e`;

/** Operator roles an API token may carry. */
export const ROLES = ['admin', 'builder', 'viewer'] as const;
const JOIN_TTL_SECONDS = 3600;
const MAX_USES = 0xffff_ffff;
/** CreateTokenRequest.ttl_seconds is a uint32. */
const MAX_TTL_SECONDS = 0xffff_ffff;

interface CreateFlags extends ConnectionFlags {
  ttl?: string;
  uses?: string;
  label?: string[];
  role?: string;
  description?: string;
  output?: string;
}

/** `archfarm tokens create`: join tokens for agents, API tokens for operators. */
export function addTokensCommand(program: Command, ctx: CommandContext): void {
  const tokens = program
    .command('tokens')
    .description('create, list and revoke join tokens (for agents) and API tokens (for operators)')
    .addHelpText('after', GROUP_EXAMPLES);
  tokens
    .command('create')
    .description('create a join token for agents or, with --role, an API token; prints it once')
    .option('--ttl <duration>', 'how long it is valid: 90, 30s, 5m, 12h, 30d, 1d12h; never = no expiry, --role only (default: 1h for join tokens, 90d with --role)')
    .option('--uses <n>', 'join tokens: how many agents may join with it (default: 1)')
    .option('--label <KEY=VALUE>', 'join tokens: a label every agent that joins with it gets; repeatable', collect)
    .option('--role <role>', 'an API token with this role instead of a join token: admin, builder or viewer')
    .option('--description <text>', 'what it is for, shown to admins (never secret)')
    .addOption(choiceOption('--output <format>', 'text (the token alone) or json (default: text)', OUTPUT_CHOICES))
    .addHelpText('after', EXAMPLES)
    .action((_flags: unknown, cmd: Command) => runCreateToken(cmd.optsWithGlobals<CreateFlags>(), ctx));
  addTokensListCommands(tokens, ctx);
}

export async function runCreateToken(flags: CreateFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const request = createRequest(flags);
  const conn = await connect(flags, ctx);
  const client = connectAuthService(conn);
  let created: CreateTokenResponse;
  try {
    created = await client.createToken(request);
  } finally {
    client.close();
  }
  printToken(created, output, ctx);
  if (request.kind === 'join') writeLine(ctx.io.stderr, joinHint(created, request, conn));
}

/** The flags as a CreateToken request; --uses and --label make sense for join tokens only. */
export function createRequest(flags: CreateFlags): CreateTokenRequest {
  const role = flags.role === undefined ? undefined : parseChoice(flags.role, ROLES, '--role');
  // Without --ttl a role token gets the coordinator's default lifetime (ttlSeconds 0).
  const ttl = flags.ttl === undefined ? { ttlSeconds: role ? 0 : JOIN_TTL_SECONDS, neverExpires: false } : parseTokenTtl(flags.ttl);
  const description = flags.description?.trim() ?? '';
  if (role !== undefined) {
    for (const [given, field] of [[flags.uses, '--uses'], [flags.label, '--label']] as const) {
      if (given !== undefined) throw new InvalidInputError(field, `applies to join tokens only, not to a --role ${role} API token`);
    }
    if (flags.ttl !== undefined && !ttl.neverExpires && ttl.ttlSeconds === 0) throw new InvalidInputError('--ttl', 'write --ttl never for a token that does not expire');
    return { kind: role, ...ttl, uses: 0, labels: {}, description };
  }
  if (ttl.neverExpires || ttl.ttlSeconds === 0) throw new InvalidInputError('--ttl', 'a join token must expire; give e.g. --ttl 1h');
  const labels = parseKeyValues(flags.label ?? [], '--label', 'rack=pi-shelf');
  return { kind: 'join', ...ttl, uses: parseUses(flags.uses), labels, description };
}

/** --ttl: `never`, or a duration that may start with days (30d, 1d12h), as API tokens live for weeks. */
export function parseTokenTtl(text: string): { ttlSeconds: number; neverExpires: boolean } {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'never') return { ttlSeconds: 0, neverExpires: true };
  const days = /^(\d+)d(.*)$/.exec(trimmed);
  if (!days) return { ttlSeconds: parseDuration(text, '--ttl'), neverExpires: false };
  const rest = days[2] === '' ? 0 : parseDuration(days[2]!, '--ttl');
  const ttlSeconds = Number(days[1]) * 86_400 + rest;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds > MAX_TTL_SECONDS) throw new InvalidInputError('--ttl', `"${text}" is too long`);
  return { ttlSeconds, neverExpires: false };
}

function parseUses(text: string | undefined): number {
  if (text === undefined) return 1;
  const uses = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(uses >= 1 && uses <= MAX_USES)) throw new InvalidInputError('--uses', `"${text}" is not a whole number of agents, 1 or more`);
  return uses;
}

function printToken(created: CreateTokenResponse, output: OutputFormat, ctx: CommandContext): void {
  if (output === 'text') return writeLine(ctx.io.stdout, created.token);
  const expiresAt = created.expiresMs > 0 ? new Date(created.expiresMs).toISOString() : null;
  writeLine(ctx.io.stdout, JSON.stringify({ token: created.token, id: created.id, expiresAt }, null, 2));
}

/** How to enrol an agent with the token: the command to run on it, with the CA's fingerprint to pin. */
function joinHint(created: CreateTokenResponse, request: CreateTokenRequest, conn: Connection): string {
  const agents = request.uses === 1 ? 'one agent' : `up to ${request.uses} agents`;
  const until = created.expiresMs > 0 ? ` until ${new Date(created.expiresMs).toISOString()}` : '';
  const pin = conn.caPem === undefined ? ' --insecure' : ` --ca-fingerprint ${caFingerprint(conn.caPem)}`;
  return `join token for ${agents}, valid${until}; on each agent run:\n  archfarm-agent --coordinator ${conn.address} --join-token ${created.token}${pin}`;
}
