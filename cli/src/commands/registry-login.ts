import type { Command } from 'commander';
import { DOCKER_HUB, HostPort, InvalidInputError } from '@archfarm/common';
import { connectAuthService } from '../client';
import { warn, type CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { readSecret } from '../secret-input';

const EXAMPLES = `
Examples:
  archfarm registry login reg.example:5000 -u ci --password-stdin < registry.password
  echo "$REGISTRY_TOKEN" | archfarm registry login ghcr.io -u octocat --password-stdin
  archfarm registry logout reg.example:5000

The coordinator keeps the credentials encrypted and gives them to an agent only for a job
that pushes to that registry. \`archfarm build\` also sends what \`docker login\` stored in
your Docker config for the tag's registry. Needs an admin token: these are the
organisation's logins, which a builder must not replace.`;

const GROUP_EXAMPLES = `
Examples:
  archfarm registry login reg.example:5000 -u ci --password-stdin < registry.password
  archfarm registry logout reg.example:5000`;

const LOGOUT_HELP = `
Examples:
  archfarm registry logout reg.example:5000

Deletes the credentials the coordinator keeps for the registry; builds pushing there then
need credentials of their own. Says so when none were stored. Needs an admin token.`;

/** Docker Hub's names, all meaning the registry ImageRef calls DOCKER_HUB. */
const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

interface LoginFlags extends ConnectionFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

/** `archfarm registry login REGISTRY`: credentials the coordinator keeps for pushing. */
export function addRegistryCommand(program: Command, ctx: CommandContext): void {
  const registry = program
    .command('registry')
    .description('registry credentials the coordinator keeps for pushing images')
    .addHelpText('after', GROUP_EXAMPLES);
  registry
    .command('login')
    .description('store a registry user and password on the coordinator (encrypted at rest)')
    .argument('<REGISTRY>', 'the registry host[:port], e.g. reg.example:5000, ghcr.io or docker.io')
    .requiredOption('-u, --username <user>', 'the registry user')
    .option('--password-stdin', 'read the password (or access token) from stdin')
    .option('-p, --password <password>', 'the password; visible to other users in the process list: prefer --password-stdin')
    .addHelpText('after', EXAMPLES)
    .action((registryArg: string, _flags: unknown, cmd: Command) => runRegistryLogin(registryArg, cmd.optsWithGlobals<LoginFlags>(), ctx));
  registry
    .command('logout')
    .description('delete the registry credentials stored on the coordinator')
    .argument('<REGISTRY>', 'the registry host[:port], as given to `registry login`')
    .addHelpText('after', LOGOUT_HELP)
    .action((registryArg: string, _flags: unknown, cmd: Command) => runRegistryLogout(registryArg, cmd.optsWithGlobals<ConnectionFlags>(), ctx));
}

export async function runRegistryLogout(registryArg: string, flags: ConnectionFlags, ctx: CommandContext): Promise<void> {
  const registry = parseRegistry(registryArg);
  const conn = await connect(flags, ctx);
  const client = connectAuthService(conn);
  let removed: boolean;
  try {
    ({ removed } = await client.registryLogout({ registry }));
  } finally {
    client.close();
  }
  writeLine(ctx.io.stderr, removed ? `removed the credentials for ${registry} from the coordinator at ${conn.address}` : `no credentials were stored for ${registry} on the coordinator at ${conn.address}`);
}

export async function runRegistryLogin(registryArg: string, flags: LoginFlags, ctx: CommandContext): Promise<void> {
  const registry = parseRegistry(registryArg);
  const username = parseUsername(flags.username ?? '');
  const password = await passwordFrom(flags, ctx);
  const conn = await connect(flags, ctx);
  const client = connectAuthService(conn);
  try {
    await client.registryLogin({ registry, username, password });
  } finally {
    client.close();
  }
  writeLine(ctx.io.stderr, `stored the credentials of ${username} for ${registry} on the coordinator at ${conn.address}`);
}

/**
 * The registry as an image reference names it: host[:port], lower case, Docker Hub's
 * aliases as one. A URL (https://reg.example/v2/), as `docker login` takes, is cut to its host.
 */
export function parseRegistry(text: string): string {
  const host = text.trim().replace(/^https?:\/\//i, '').replace(/\/(?:v[12]\/?)?$/, '').toLowerCase();
  if (!HostPort.tryParse(host, { portOptional: true })) throw new InvalidInputError('REGISTRY', `"${text}" is not a registry host[:port]; e.g. reg.example:5000 or docker.io`);
  return DOCKER_HUB_NAMES.has(host) ? DOCKER_HUB : host;
}

function parseUsername(text: string): string {
  const username = text.trim();
  if (username === '' || /[:\s\p{Cc}]/u.test(username)) throw new InvalidInputError('--username', `"${text}" is not a registry user name (no spaces or ':')`);
  return username;
}

/** Exactly one of --password-stdin and --password; neither is ever echoed. */
async function passwordFrom(flags: LoginFlags, ctx: CommandContext): Promise<string> {
  if (flags.passwordStdin && flags.password !== undefined) throw new InvalidInputError('--password-stdin', 'and --password both give the password; use --password-stdin alone');
  if (flags.passwordStdin) return readSecret(ctx.io.stdin, '--password-stdin');
  if (flags.password === undefined) {
    throw new InvalidInputError('--password-stdin', 'give the password on stdin, e.g. `archfarm registry login REGISTRY -u USER --password-stdin < password.txt`');
  }
  warn(ctx, '--password is visible to other users in the process list and stays in your shell history; use --password-stdin');
  if (flags.password === '') throw new InvalidInputError('--password', 'is empty');
  return flags.password;
}
