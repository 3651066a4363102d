import type { Command } from 'commander';
import { ACCEPTED_PROTOCOLS, ARCHFARM_VERSION, formatRange, PROTOCOL_VERSION, protocolMismatch, UNVERSIONED_PROTOCOL, type ProtocolMismatchError, type ProtocolRange } from '@archfarm/common';
import type { GetVersionResponse } from '@archfarm/proto';
import { connectVersionService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { CoordinatorError } from '../errors';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, parseChoice } from '../options';

const EXAMPLES = `
Examples:
  archfarm version
  archfarm version --output json | jq -r .coordinator.version

Prints this CLI's version and the coordinator's, and the protocol each speaks and accepts.
When they do not share a protocol it says which to upgrade and exits 1. No token is needed.`;

interface VersionFlags extends ConnectionFlags {
  output?: string;
}

/** One program's versions, as `--output json` prints them. */
export interface ProgramVersionJson {
  version: string | null;
  protocol: number;
  accepts: ProtocolRange;
}

export interface VersionJson {
  cli: ProgramVersionJson;
  coordinator: ProgramVersionJson & { address: string };
  compatible: boolean;
}

/** `archfarm version`. */
export function addVersionCommand(program: Command, ctx: CommandContext): void {
  program
    .command('version')
    .description("print this CLI's and the coordinator's versions and protocols; fails when they do not match")
    .addOption(choiceOption('--output <format>', 'text or json (default: text)', OUTPUT_CHOICES))
    .addHelpText('after', EXAMPLES)
    .action((_flags: unknown, cmd: Command) => runVersion(cmd.optsWithGlobals<VersionFlags>(), ctx));
}

export async function runVersion(flags: VersionFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const conn = await connect(flags, ctx, { requireToken: false });
  const client = connectVersionService(conn);
  let answer: GetVersionResponse | undefined;
  try {
    answer = await client.getVersion({});
  } catch (err) {
    // A coordinator older than versioning has no GetVersion: it speaks the unversioned protocol.
    if (!(err instanceof CoordinatorError && err.status === 'UNIMPLEMENTED')) throw err;
  } finally {
    client.close();
  }
  const { json, mismatch } = versionReport(conn.address, answer);
  if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(json, null, 2));
  else for (const line of versionText(json)) writeLine(ctx.io.stdout, line);
  if (mismatch) throw mismatch;
}

/**
 * What `archfarm version` says of a GetVersion answer (undefined: the coordinator has no
 * GetVersion) and whether the two share a protocol. Pure.
 */
export function versionReport(address: string, answer: GetVersionResponse | undefined): { json: VersionJson; mismatch: ProtocolMismatchError | undefined } {
  const coordinator = answer
    ? { address, version: answer.version, protocol: answer.protocol, accepts: { min: answer.minProtocol, max: answer.maxProtocol } }
    : { address, version: null, protocol: UNVERSIONED_PROTOCOL, accepts: { min: UNVERSIONED_PROTOCOL, max: UNVERSIONED_PROTOCOL } };
  const cli = { version: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION, accepts: ACCEPTED_PROTOCOLS };
  const mismatch = protocolMismatch(
    { name: `this archfarm CLI (${ARCHFARM_VERSION})`, protocol: cli.protocol, accepts: cli.accepts, upgrade: 'the CLI' },
    // Without GetVersion the coordinator does not say what it accepts; it served the unversioned CLIs, which this one is a superset of.
    { name: `the coordinator at ${address} (${coordinator.version ?? 'older than versioning'})`, protocol: coordinator.protocol, accepts: answer ? coordinator.accepts : undefined, upgrade: 'the coordinator' },
  );
  return { json: { cli, coordinator, compatible: mismatch === undefined }, mismatch };
}

function versionText(json: VersionJson): string[] {
  const line = (who: string, p: ProgramVersionJson) => `${who.padEnd(12)} ${(p.version ?? 'older than versioning').padEnd(10)} protocol ${p.protocol} (accepts ${formatRange(p.accepts)})`;
  return [line('cli', json.cli), `${line('coordinator', json.coordinator)} at ${json.coordinator.address}`];
}
